"""The built-in networks as presets of the one OAuth 2.0 client; every endpoint can be overridden."""

from __future__ import annotations

from govern.adapters.networks.base import Endpoints, NetworkPreset

FACEBOOK = NetworkPreset(
    key="facebook",
    display_name="Facebook",
    endpoints=Endpoints(
        authorize_url="https://www.facebook.com/v21.0/dialog/oauth",
        token_url="https://graph.facebook.com/v21.0/oauth/access_token",
        whoami_url="https://graph.facebook.com/v21.0/me?fields=id,name",
        api_url="https://graph.facebook.com/v21.0",
    ),
    scopes=("pages_show_list", "pages_manage_posts", "pages_read_engagement", "pages_manage_engagement"),
    page_tokens=True,
    notes="Long-lived user token -> page tokens; prefer a Business Manager system user so no person's login is the connector.",
)

INSTAGRAM = NetworkPreset(
    key="instagram",
    display_name="Instagram",
    endpoints=FACEBOOK.endpoints,
    scopes=("instagram_basic", "instagram_content_publish", "instagram_manage_comments", "pages_show_list"),
    notes="Instagram business accounts are reached through the Graph API and a linked Facebook Page.",
)

THREADS = NetworkPreset(
    key="threads",
    display_name="Threads",
    endpoints=Endpoints(
        authorize_url="https://threads.net/oauth/authorize",
        token_url="https://graph.threads.net/oauth/access_token",
        whoami_url="https://graph.threads.net/v1.0/me?fields=id,username",
        api_url="https://graph.threads.net/v1.0",
    ),
    scopes=("threads_basic", "threads_content_publish", "threads_manage_replies"),
    whoami_name_field="username",
)

X = NetworkPreset(
    key="x",
    display_name="X",
    endpoints=Endpoints(
        authorize_url="https://x.com/i/oauth2/authorize",
        token_url="https://api.x.com/2/oauth2/token",
        revocation_url="https://api.x.com/2/oauth2/revoke",
        whoami_url="https://api.x.com/2/users/me",
        api_url="https://api.x.com/2",
    ),
    scopes=("tweet.read", "tweet.write", "users.read", "offline.access"),
    token_auth_method="client_secret_basic",
    rotating_refresh=True,
    whoami_id_field="data.id",
    whoami_name_field="data.username",
    notes="2 h access tokens; refresh tokens are single-use and rotate (needs offline.access).",
)

LINKEDIN = NetworkPreset(
    key="linkedin",
    display_name="LinkedIn",
    endpoints=Endpoints(
        authorize_url="https://www.linkedin.com/oauth/v2/authorization",
        token_url="https://www.linkedin.com/oauth/v2/accessToken",
        revocation_url="https://www.linkedin.com/oauth/v2/revoke",
        whoami_url="https://api.linkedin.com/v2/userinfo",
        api_url="https://api.linkedin.com/rest",
    ),
    scopes=("openid", "profile", "w_organization_social", "r_organization_social"),
    whoami_id_field="sub",
    notes="60-day access tokens; the 365-day refresh token does not reset when used.",
)

TIKTOK = NetworkPreset(
    key="tiktok",
    display_name="TikTok",
    endpoints=Endpoints(
        authorize_url="https://www.tiktok.com/v2/auth/authorize/",
        token_url="https://open.tiktokapis.com/v2/oauth/token/",
        revocation_url="https://open.tiktokapis.com/v2/oauth/revoke/",
        whoami_url="https://open.tiktokapis.com/v2/user/info/?fields=open_id,display_name",
        api_url="https://open.tiktokapis.com/v2",
    ),
    scopes=("user.info.basic", "video.publish", "video.list"),
    rotating_refresh=True,
    whoami_id_field="data.user.open_id",
    whoami_name_field="data.user.display_name",
)

YOUTUBE = NetworkPreset(
    key="youtube",
    display_name="YouTube",
    endpoints=Endpoints(
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        revocation_url="https://oauth2.googleapis.com/revoke",
        whoami_url="https://www.googleapis.com/youtube/v3/channels?part=id,snippet&mine=true",
        api_url="https://www.googleapis.com/youtube/v3",
    ),
    scopes=("https://www.googleapis.com/auth/youtube.force-ssl",),
    whoami_id_field="items.0.id",
    extra_authorize_params={"access_type": "offline", "prompt": "consent"},
    notes="1 h access tokens; the refresh token is returned once, on consent.",
)

MASTODON = NetworkPreset(
    key="mastodon",
    display_name="Mastodon",
    endpoints=Endpoints(
        authorize_url="https://mastodon.example/oauth/authorize",
        token_url="https://mastodon.example/oauth/token",
        revocation_url="https://mastodon.example/oauth/revoke",
        whoami_url="https://mastodon.example/api/v1/accounts/verify_credentials",
        api_url="https://mastodon.example/api/v1",
    ),
    scopes=("read", "write"),
    whoami_name_field="acct",
    notes="Each instance is its own server: set the endpoints to the instance's URLs.",
)

GENERIC_OAUTH2 = NetworkPreset(
    key="generic_oauth2",
    display_name="Generic OAuth 2.0 / OIDC",
    endpoints=Endpoints(authorize_url="", token_url="", whoami_url="", api_url=""),
    scopes=("openid",),
    whoami_id_field="sub",
    notes="Configured entirely by endpoints: authorization, token, revocation, userinfo/whoami, scopes.",
)

PRESETS: dict[str, NetworkPreset] = {
    preset.key: preset for preset in (FACEBOOK, INSTAGRAM, THREADS, X, LINKEDIN, TIKTOK, YOUTUBE, MASTODON, GENERIC_OAUTH2)
}
