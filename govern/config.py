"""Settings: built-in defaults, then an optional TOML file, then GOVERN_* environment variables."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from govern.retention.kinds import KNOWN_KINDS, MAX_RETENTION_DAYS

ENV_PREFIX = "GOVERN_"
DEFAULT_POLICY_PACKS = Path(__file__).resolve().parent.parent / "policies"


def default_instance_path() -> Path:
    """The same folder from any working directory (docs/decisions/0031): a source checkout's instance/, where
    `make run` puts it; else the per-user data folder (~/.local/share/govern on Linux)."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "migrations").is_dir():
        return checkout / "instance"
    from platformdirs import user_data_path

    return user_data_path("govern")


# What GOVERN_LDAP_ATTRIBUTES may map (govern/adapters/ldap/config.py holds the per-flavour defaults).
LDAP_ATTRIBUTE_ROLES = (
    "key", "username", "display_name", "email", "department", "manager", "changed_at",
    "locked", "account_control", "account_expires",
)
# Roles a console user may hold (govern/auth/roles.py; "scim" is a machine role, never a person's).
CONSOLE_ROLES = ("admin", "governance", "it", "auditor", "reviewer")


def _json_object(value: Any) -> Any:
    """A setting given as JSON text (from the environment) parsed; anything else returned as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value) if value.strip() else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"must be a JSON object: {exc.msg}") from None


class ConfigurationError(Exception):
    """Raised at start-up when a setting is missing or malformed; names the variable."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_path: Path = Field(default_factory=default_instance_path, description="Where embedded state lives; a relative path is taken from the working directory once, at start-up.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite under the instance path.")
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=300, description="How long opening a PostgreSQL connection may take (whole seconds, at least 2).")
    database_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=300, description="How long a request waits for a free pooled connection before it is answered 503.")
    database_statement_timeout_seconds: float = Field(default=15.0, ge=0, le=3600, description="Longest SQL statement of a web request (PostgreSQL statement_timeout, plus a client-side cut if the server stops answering); 0 means none.")
    database_job_statement_timeout_seconds: float = Field(default=0.0, ge=0, le=86400, description="The same for jobs and CLI commands (audit verification, reports, evidence export, directory sync); 0 means none.")
    secret_key: str = Field(default="", description="Signs session cookies and derives the token-fingerprint key; at least 32 characters.", repr=False)
    celery_broker_url: str = Field(default="", description="Redis or AMQP URL; empty runs jobs in-process.")
    celery_result_backend: str = Field(default="", description="Optional Celery result backend URL.")
    jobs_publish_timeout_seconds: float = Field(default=2.0, gt=0, le=30, description="How long the job relay waits for the broker before it leaves jobs in the outbox for its next pass.")
    jobs_redeliver_after_seconds: int = Field(default=3600, ge=60, le=7 * 86400, description="A job handed to the broker that has not run after this long is handed over again (at most 5 times); it still runs once.")
    vault_addr: str = Field(default="", description="Vault/OpenBao address; empty uses the embedded secret store.")
    vault_token: str = Field(default="", description="Vault token (development only).", repr=False)
    vault_role_id: str = Field(default="", description="AppRole role id.")
    vault_secret_id: str = Field(default="", description="AppRole secret id.", repr=False)
    vault_secret_id_file: str = Field(default="", description="File holding the AppRole secret id.")
    vault_mount: str = Field(default="secret", description="KV v2 mount.")
    vault_ca_file: str = Field(default="", description="CA bundle for Vault's TLS certificate.")
    vault_namespace: str = Field(default="", description="Vault Enterprise / OpenBao namespace.")
    vault_transit_key: str = Field(default="", description="Transit key that encrypts refresh tokens before they are stored.")
    local_secret_key: str = Field(default="", description="Base64 key of the embedded secret store; else a 0600 file.", repr=False)
    ldap_url: str = Field(default="", description="Directory URL(s), comma-separated, e.g. ldaps://dc1.example.com,ldaps://dc2.example.com.")
    ldap_bind_dn: str = Field(default="", description="DN govern's service account binds as.")
    ldap_bind_password: str = Field(default="", description="The service account's password.", repr=False)
    ldap_bind_password_file: str = Field(default="", description="File holding the service account's password.")
    ldap_base_dn: str = Field(default="", description="Where people are searched (whole subtree).")
    ldap_flavor: Literal["openldap", "ad"] = Field(default="openldap", description="Directory flavour: attribute defaults and leaver signals.")
    ldap_group_dn: str = Field(default="", description="Entitlement group: people not directly in it count as leavers.")
    ldap_ca_file: str = Field(default="", description="CA bundle for ldaps:// and StartTLS; empty uses the system store.")
    ldap_start_tls: bool = Field(default=False, description="Upgrade ldap:// connections with StartTLS.")
    ldap_attributes: dict[str, str] = Field(default_factory=dict, description="JSON object overriding the flavour's attribute mapping.")
    ldap_user_filter: str = Field(default="", description="LDAP filter that selects people; empty uses the flavour's default.")
    ldap_employment_status_attribute: str = Field(default="employeeType", description="Attribute whose terminated values mark a leaver; empty disables.")
    ldap_terminated_values: list[str] = Field(default_factory=lambda: ["terminated"], description="Values (case-insensitive, comma-separated) of the employment status attribute that mark a leaver.")
    ldap_end_date_attribute: str = Field(default="", description="Attribute holding a leaving date; a date in the past marks a leaver. Empty disables.")
    ldap_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120, description="TCP/TLS connect timeout per directory server.")
    ldap_receive_timeout_seconds: float = Field(default=30.0, gt=0, le=600, description="How long to wait for each directory response.")
    ldap_watch: bool = Field(default=True, description="Watch OpenLDAP's accesslog and sync each change within seconds (the embedded scheduler starts the watcher; with Celery run `govern directory watch`).")
    ldap_watch_interval_seconds: float = Field(default=1.0, ge=0.2, le=60, description="How often the watcher looks at the accesslog for a new write.")
    console_role_groups: dict[str, str] = Field(default_factory=dict, description="JSON object: directory group DN -> console role, for password sign-in; the first group (in this order) the person is in decides the role.")
    sign_in_max_failures: int = Field(default=5, ge=1, le=100, description="Refused password sign-ins per username and client address before further attempts are refused.")
    sign_in_failure_window_seconds: int = Field(default=900, ge=60, le=86400, description="The window those refused sign-ins are counted in.")
    console_session_idle_minutes: int = Field(default=30, ge=1, le=1440, description="A console session ends after this many minutes without a request.")
    console_session_max_hours: int = Field(default=8, ge=1, le=168, description="A console session ends this many hours after sign-in, however busy it is.")
    sign_in_max_failures_per_address: int = Field(default=20, ge=1, le=100_000, description="Refused sign-ins (any name) from one client address within the window before that address is refused, per sign-in method.")
    sign_in_max_failures_global: int = Field(default=200, ge=1, le=10_000_000, description="Refused sign-ins from all addresses together within the window before every sign-in by that method is refused for the rest of it.")
    handoff_unwrap_max_refusals_per_address: int = Field(default=10, ge=1, le=100_000, description="Refused hand-off unwraps from one client address within the unwrap window before that address is refused (429).")
    handoff_unwrap_max_refusals_global: int = Field(default=100, ge=1, le=10_000_000, description="Refused hand-off unwraps from all addresses together within the unwrap window before every unwrap is refused (429).")
    handoff_unwrap_refusal_window_seconds: int = Field(default=60, ge=1, le=86400, description="The window refused unwraps are counted in.")
    rate_limit_storage_url: str = Field(default="", description="Where rate-limit counters live: redis:// or rediss:// (shared by every instance); empty or memory:// keeps them in each process's memory.")
    rate_limit_key_prefix: str = Field(default="govern", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", description="Prefix of the rate-limit keys in Redis.")
    oidc_issuer: str = Field(default="", description="OpenID Connect issuer URL; discovery is read from <issuer>/.well-known/openid-configuration. Empty turns OIDC sign-in off.")
    oidc_client_id: str = Field(default="", description="govern's client id at the OpenID Connect provider.")
    oidc_client_secret: str = Field(default="", description="govern's client secret at the OpenID Connect provider.", repr=False)
    oidc_client_secret_file: str = Field(default="", description="File holding the client secret.")
    oidc_scopes: str = Field(default="openid email profile", description="Scopes asked for, space-separated; must include openid.")
    oidc_role_claim: str = Field(default="groups", min_length=1, description="Claim (a dotted path for nested claims) whose values map to console roles.")
    oidc_role_map: dict[str, str] = Field(default_factory=dict, description="JSON object: role-claim value -> console role; the first value (in this order) the person has decides the role.")
    oidc_person_claim: str = Field(default="email", min_length=1, description="Claim that names the person in govern.")
    oidc_person_field: Literal["email", "username"] = Field(default="email", description="The person field that claim is matched against (case-insensitive).")
    oidc_provider_name: str = Field(default="", max_length=64, description="Name on the sign-in button, e.g. Okta; empty says 'your company account'.")
    policy_packs_dir: str = Field(default=str(DEFAULT_POLICY_PACKS), description="Folder of the policy packs (YAML); a pack that does not validate is refused and the ones in force stay.")
    policy_enforced: bool = Field(default=True, description="Check every brokered post and reply against the policy packs before it goes out.")
    review_on_deadline: Literal["revoke", "escalate"] = Field(default="revoke", description="What an access review does by default with grants nobody reviewed by its deadline: revoke them, or escalate them to governance (each campaign may choose).")
    review_mass_revocation_threshold: int = Field(default=25, ge=1, le=100_000, description="A deadline that would revoke more than this many grants (or more than review_mass_revocation_percent of the campaign, if fewer; never fewer than 5) waits for a governance user to confirm.")
    review_mass_revocation_percent: int = Field(default=25, ge=1, le=100, description="The share of a campaign's grants, in percent, that a deadline may revoke without a governance user confirming (see review_mass_revocation_threshold).")
    review_reminder_every_hours: int = Field(default=72, ge=1, le=720, description="Default for new access reviews: remind a reviewer with grants still to review at most this often.")
    alerts_spike_multiple: float = Field(default=3.0, ge=1.0, le=1000.0, description="A spike alert is raised when an account's inbound comments and messages this hour exceed this multiple of its hourly average over the 12 hours before.")
    alerts_spike_min_volume: int = Field(default=20, ge=1, le=10_000_000, description="No spike alert below this many inbound items in the hour, whatever the multiple.")
    alerts_spike_cooldown_minutes: int = Field(default=120, ge=1, le=10_080, description="After a spike alert, the account raises no other spike alert for this long.")
    alerts_keyword_cooldown_minutes: int = Field(default=120, ge=1, le=10_080, description="After a crisis keyword alert, the same keyword raises no other alert on that account for this long.")
    alerts_keywords_file: str = Field(default=str(DEFAULT_POLICY_PACKS / "alerts" / "crisis_keywords.yaml"), description="The crisis keyword lexicon (YAML, terms in en, ar and he).")
    company_names: list[str] = Field(default_factory=lambda: ["Acme"], description="The company's own names (comma-separated): image metadata naming them is not third-party copyright.")
    media_max_pixels_per_image: int = Field(default=50_000_000, ge=1, le=178_000_000, description="Largest attached image a policy check decodes, in pixels (width x height from its header); more is refused with 413.")
    media_max_pixels_per_request: int = Field(default=150_000_000, ge=1, le=2_000_000_000, description="Pixels all attachments of one post may hold together, summed from their headers before any is decoded; more is refused with 413.")
    media_max_decode_seconds: float = Field(default=10.0, gt=0, le=600, description="Time one post's attachments may take to decode; the attachments not decoded by then are refused with 413.")
    audit_checkpoint_every_events: int = Field(default=1000, ge=1, le=10_000_000, description="Sign a checkpoint of the audit chain head once this many events are unsigned.")
    audit_checkpoint_every_minutes: int = Field(default=10, ge=1, le=1440, description="Sign a checkpoint at least this often while new events arrive.")
    audit_signing_key_dir: str = Field(default="", description="Folder of the local Ed25519 checkpoint keys (embedded mode); empty uses <instance>/audit-keys. With Vault, Transit signs instead.")
    audit_transit_key: str = Field(default="govern-audit", min_length=1, max_length=128, description="Vault/OpenBao Transit key (Ed25519) that signs checkpoints; created by the first checkpoint, never by verification.")
    audit_transit_mount: str = Field(default="transit", min_length=1, max_length=128, description="Mount point of the Transit engine.")
    audit_stream: str = Field(default="", description="Ship audit events as JSON lines to a SIEM: stdout, file:/path/events.jsonl, syslog (local socket) or syslog://host:port (UDP). Empty turns it off.")
    smtp_host: str = Field(default="", max_length=255, description="Mail server that notification e-mail is sent through; empty sends no e-mail (in-console and webhooks still work).")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="The mail server's port (587 for submission with STARTTLS).")
    smtp_starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS before authenticating; the server's certificate is verified.")
    smtp_ca_file: str = Field(default="", description="CA bundle that the mail server's certificate is verified against; empty uses the system's.")
    smtp_from: str = Field(default="govern@localhost", min_length=3, max_length=320, description="The From address of notification e-mail.")
    smtp_username: str = Field(default="", max_length=320, description="User to authenticate as; its password is read from the secret store (`govern notifications smtp-password`), never from settings.")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="How long connecting to, and each exchange with, the mail server may take.")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="How long a webhook endpoint may take to connect and to answer.")
    notification_max_attempts: int = Field(default=8, ge=1, le=50, description="Tries of one e-mail or webhook delivery before it is marked failed (and audited).")
    notification_retry_base_seconds: int = Field(default=30, ge=1, le=3600, description="Wait after the first failed try; doubled after each further one.")
    notification_retry_cap_seconds: int = Field(default=3600, ge=1, le=86400, description="The longest wait between two tries.")
    secure_cookies: bool = Field(default=True, description="Send cookies only over HTTPS.")
    force_https: bool = Field(default=False, description="Redirect HTTP to HTTPS and send HSTS.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    default_locale: Literal["en", "ar", "he"] = "en"
    login_link_ttl_seconds: int = Field(default=900, ge=60, le=86400)
    trusted_proxies: int = Field(default=0, ge=0, le=5, description="Reverse proxies in front of govern whose X-Forwarded-For is trusted.")
    serve_max_requests: int = Field(default=1000, ge=0, le=10_000_000, description="`govern serve`: a worker is replaced after this many requests, so memory a large answer took goes back to the system (0: never).")
    serve_max_requests_jitter: int = Field(default=100, ge=0, le=1_000_000, description="`govern serve`: up to this many requests more, at random per worker, so the workers are not all replaced at once.")
    serve_request_timeout_seconds: float = Field(default=30.0, gt=0, le=3600, description="`govern serve`: how long a request's head and body may take to arrive (then 408), and a client to take the answer.")
    base_url: str = Field(default="http://127.0.0.1:8000", description="External URL used in printed links.")
    demo_network: bool = Field(default=False, description="Serve the built-in demo social network under /demo-network (`make run` turns it on); refused unless the base URL is a loopback address, so never in production.")
    scim_entitlement_group: str = Field(default="social-media", min_length=1, max_length=255, description="SCIM group whose members may use govern; removal from it is a departure.")
    scim_role_groups: dict[str, str] = Field(default_factory=dict, description="SCIM group displayName -> console role, as `name=role,name=role` or a JSON object; membership gives the role, the first group (in this order) the person is in decides it.")
    leaver_revocation_sla_hours: float = Field(default=4, gt=0, le=720, description="Target time from a leaver's directory change to the removal of all their access, for the leavers report (4 h: FedRAMP; 24 h is the usual SOC 2 test).")
    post_approval_ttl_days: int = Field(default=7, ge=1, le=365, description="How long an approval of a post lasts (it also ends at the post's scheduled time); an older approval must be given again.")
    retention_days: dict[str, int] = Field(default_factory=dict, description="JSON object: data kind -> days kept; kinds left out keep their default (docs/operations.md, 'Retention and legal holds').")

    @field_validator("audit_stream")
    @classmethod
    def _audit_stream(cls, value: str) -> str:
        value = value.strip()
        if value and not (value in ("stdout", "syslog") or value.startswith(("file:", "syslog://"))):
            raise ValueError("must be stdout, file:/path, syslog or syslog://host:port")
        if value.startswith("file:") and not value.removeprefix("file:").strip():
            raise ValueError("file: needs a path, e.g. file:/var/log/govern/audit.jsonl")
        return value

    @field_validator("instance_path")
    @classmethod
    def _absolute_instance_path(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("postgresql", "sqlite")):
            raise ValueError("must be a postgresql:// or sqlite:// URL")
        return value

    @field_validator("celery_broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "amqp://", "amqps://", "sqla+")):
            raise ValueError("must be a redis://, amqp:// or sqla+ URL")
        return value

    @field_validator("rate_limit_storage_url")
    @classmethod
    def _known_limit_store(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("memory://", "redis://", "rediss://")):
            raise ValueError("must be a redis:// or rediss:// URL, memory://, or empty")
        return value

    @field_validator("vault_addr", "base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("ldap_url")
    @classmethod
    def _ldap_url(cls, value: str) -> str:
        urls = [url.strip() for url in value.split(",") if url.strip()]
        if any(not url.startswith(("ldap://", "ldaps://")) for url in urls):
            raise ValueError("each URL must start with ldap:// or ldaps://")
        return ",".join(urls)

    @field_validator("ldap_attributes", mode="before")
    @classmethod
    def _ldap_attributes_json(cls, value: Any) -> Any:
        value = _json_object(value)
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(LDAP_ATTRIBUTE_ROLES))
            if unknown:
                raise ValueError(f"unknown keys {', '.join(unknown)}; known: {', '.join(LDAP_ATTRIBUTE_ROLES)}")
        return value

    @field_validator("console_role_groups", "oidc_role_map", mode="before")
    @classmethod
    def _role_mapping(cls, value: Any) -> Any:
        value = _json_object(value)
        if isinstance(value, dict):
            wrong = sorted({str(role) for role in value.values()} - set(CONSOLE_ROLES))
            if wrong:
                raise ValueError(f"unknown console roles {', '.join(wrong)}; known: {', '.join(CONSOLE_ROLES)}")
            if any(not str(key).strip() for key in value):
                raise ValueError("a key is empty")
        return value

    @field_validator("scim_role_groups", mode="before")
    @classmethod
    def _scim_role_groups(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and not value.strip().startswith("{"):
            pairs = [part.partition("=") for part in value.split(",") if part.strip()]
            if any(not sep for _, sep, _ in pairs):
                raise ValueError("must be name=role pairs separated by commas, or a JSON object")
            value = {name.strip(): role.strip() for name, _, role in pairs}
        value = cls._role_mapping(value)
        if isinstance(value, dict):
            names = [str(name).casefold() for name in value]
            if len(set(names)) != len(names):
                raise ValueError("a group is named twice (names are compared case-insensitively)")
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def _oidc_issuer(cls, value: str) -> str:
        value = value.strip()  # exactly as the provider spells it, a trailing / included (ID tokens name it so)
        if not value:
            return value
        parsed = urlparse(value)
        loopback = parsed.hostname in ("127.0.0.1", "::1", "localhost")
        if not parsed.hostname or not (parsed.scheme == "https" or (parsed.scheme == "http" and loopback)):
            raise ValueError("must be an https:// URL (http:// only for a loopback test provider)")
        if parsed.query or parsed.fragment:
            raise ValueError("must not have a query or fragment")
        return value

    @field_validator("oidc_scopes")
    @classmethod
    def _openid_scope(cls, value: str) -> str:
        scopes = value.split()
        if "openid" not in scopes:
            raise ValueError("must include openid")
        return " ".join(scopes)

    @field_validator("ldap_terminated_values", "company_names", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("retention_days", mode="before")
    @classmethod
    def _retention_kinds(cls, value: Any) -> Any:
        value = _json_object(value)
        if isinstance(value, dict):
            unknown = sorted(str(kind) for kind in set(value) - set(KNOWN_KINDS))
            if unknown:
                raise ValueError(f"unknown data kinds {', '.join(unknown)}; known: {', '.join(KNOWN_KINDS)}")
            if any(isinstance(days, bool) or not isinstance(days, int) for days in value.values()):
                raise ValueError("days must be whole numbers, e.g. {\"notifications\": 365}")
        return value

    @field_validator("retention_days")
    @classmethod
    def _retention_range(cls, value: dict[str, int]) -> dict[str, int]:
        wrong = sorted(kind for kind, days in value.items() if not 1 <= days <= MAX_RETENTION_DAYS)
        if wrong:
            raise ValueError(f"days must be 1 to {MAX_RETENTION_DAYS} (for {', '.join(wrong)})")
        return value

    @field_validator("secret_key")
    @classmethod
    def _strong_key(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @model_validator(mode="after")
    def _vault_auth_is_complete(self) -> Settings:
        if not self.vault_addr:
            return self
        has_approle = bool(self.vault_role_id and (self.vault_secret_id or self.vault_secret_id_file))
        if not (self.vault_token or has_approle):
            raise ValueError(
                "GOVERN_VAULT_ADDR is set but neither GOVERN_VAULT_TOKEN nor GOVERN_VAULT_ROLE_ID with "
                "GOVERN_VAULT_SECRET_ID (or GOVERN_VAULT_SECRET_ID_FILE) is"
            )
        return self

    @model_validator(mode="after")
    def _shared_secret_for_shared_database(self) -> Settings:
        if self.database_url.startswith("postgresql") and not self.secret_key:
            raise ValueError(
                "GOVERN_SECRET_KEY is required with a PostgreSQL database, so every instance signs sessions alike"
            )
        return self

    @model_validator(mode="after")
    def _demo_network_only_on_loopback(self) -> Settings:
        if self.demo_network and (self.force_https or urlparse(self.base_url).hostname not in ("127.0.0.1", "::1", "localhost")):
            raise ValueError(
                "GOVERN_DEMO_NETWORK serves a stand-in social network for trying govern out; it is refused unless "
                "GOVERN_BASE_URL is a loopback http:// address (it is never served in production)"
            )
        return self

    @model_validator(mode="after")
    def _oidc_client_is_complete(self) -> Settings:
        if self.oidc_issuer and not (self.oidc_client_id and (self.oidc_client_secret or self.oidc_client_secret_file)):
            raise ValueError(
                "GOVERN_OIDC_ISSUER is set but GOVERN_OIDC_CLIENT_ID and GOVERN_OIDC_CLIENT_SECRET (or _FILE) are not"
            )
        return self

    @property
    def password_sign_in(self) -> bool:
        """Console sign-in with directory credentials: on whenever a directory is configured."""
        return bool(self.ldap_url)

    @property
    def oidc_sign_in(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def login_links_admin_only(self) -> bool:
        """With a directory sign-in in place, one-time links are only the administrators' break-glass."""
        return self.password_sign_in or self.oidc_sign_in

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.instance_path / 'govern.sqlite').resolve()}"

    @property
    def jobs_in_process(self) -> bool:
        return not self.celery_broker_url


def _read_config_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(f"{ENV_PREFIX}CONFIG_FILE: cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{ENV_PREFIX}CONFIG_FILE: {path} is not valid TOML: {exc}") from exc


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Build Settings; environment beats the file, explicit overrides beat both."""
    environ = os.environ if environ is None else environ
    file_values: dict[str, Any] = {}
    if config_file := environ.get(f"{ENV_PREFIX}CONFIG_FILE"):
        file_values = _read_config_file(config_file)
    env_values = {
        key[len(ENV_PREFIX):].lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and key != f"{ENV_PREFIX}CONFIG_FILE"
    }
    known = Settings.model_fields
    unknown_in_file = sorted(set(file_values) - set(known))
    if unknown_in_file:
        raise ConfigurationError(f"{ENV_PREFIX}CONFIG_FILE: unknown settings {', '.join(unknown_in_file)}")
    merged = {k: v for k, v in {**file_values, **env_values, **(overrides or {})}.items() if k in known}
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        problems = [
            f"{ENV_PREFIX}{'.'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"
            if error["loc"] else error["msg"].removeprefix("Value error, ")
            for error in exc.errors()
        ]
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
