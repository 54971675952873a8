"""Settings: layered sources and start-up errors that name the bad variable."""

from __future__ import annotations

import pytest

from govern.config import ConfigurationError, load_settings


def test_embedded_defaults_need_nothing(tmp_path):
    settings = load_settings(environ={"GOVERN_INSTANCE_PATH": str(tmp_path)})
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'govern.sqlite'}"
    assert settings.jobs_in_process and not settings.vault_addr


@pytest.mark.parametrize(
    "variable, value",
    [
        ("GOVERN_DATABASE_URL", "mysql://db/govern"),
        ("GOVERN_SECRET_KEY", "short"),
        ("GOVERN_CELERY_BROKER_URL", "kafka://x"),
        ("GOVERN_VAULT_ADDR", "vault.internal:8200"),
        ("GOVERN_LDAP_URL", "http://dc1"),
        ("GOVERN_SECURE_COOKIES", "perhaps"),
        ("GOVERN_LOGIN_LINK_TTL_SECONDS", "5"),
    ],
)
def test_bad_value_names_the_variable(variable, value):
    with pytest.raises(ConfigurationError, match=variable):
        load_settings(environ={variable: value})


def test_environment_beats_file_and_overrides_beat_both(tmp_path):
    config_file = tmp_path / "govern.toml"
    config_file.write_text('ldap_url = "ldap://from-file"\nlog_level = "DEBUG"\n')
    environ = {"GOVERN_CONFIG_FILE": str(config_file), "GOVERN_LDAP_URL": "ldaps://from-env"}
    settings = load_settings(environ=environ)
    assert settings.ldap_url == "ldaps://from-env" and settings.log_level == "DEBUG"
    assert load_settings({"log_level": "ERROR"}, environ=environ).log_level == "ERROR"


def test_unreadable_or_invalid_config_file_is_named(tmp_path):
    with pytest.raises(ConfigurationError, match="GOVERN_CONFIG_FILE.*cannot read"):
        load_settings(environ={"GOVERN_CONFIG_FILE": str(tmp_path / "missing.toml")})
    broken = tmp_path / "broken.toml"
    broken.write_text("this is = = not toml")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings(environ={"GOVERN_CONFIG_FILE": str(broken)})


def test_postgresql_needs_a_shared_secret_key():
    with pytest.raises(ConfigurationError, match="GOVERN_SECRET_KEY is required"):
        load_settings(environ={"GOVERN_DATABASE_URL": "postgresql+psycopg://db/govern"})
