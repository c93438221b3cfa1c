"""Every setting of the site, from `SITE_`-prefixed environment variables."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_KEY_FILE = "secret_key"
MIN_KEY_LENGTH = 32
#: The engines `site-api build` may run (site_api/content/engine.py runs and checks them).
BuildEngineName = Literal["mkdocs", "properdocs"]


class ConfigError(RuntimeError):
    """A setting that stops the server from starting safely; the message says which."""


class OidcProvider(BaseModel):
    """One OpenID Connect provider: a button on /sign-in and a client registered with it."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    label: str
    discovery_url: str
    client_id: str
    client_secret: SecretStr


class InstitutionSetting(BaseModel):
    """One institution of `SITE_INSTITUTIONS`; its ranges are checked at start (serving.doors)."""

    name: str
    ranges: list[Any]


class Settings(BaseSettings):
    """One place for every setting; tests build their own with `Settings(...)`."""

    model_config = SettingsConfigDict(env_prefix="SITE_", extra="forbid")

    env: Literal["development", "production"] = "development"
    site_dir: Path = Path("site")
    page_cache_pages: int = Field(default=256, ge=0, le=100_000)
    var_dir: Path = Path("var")
    database_url: str = ""
    database_pool_size: int = Field(default=5, ge=1, le=100)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    secret_key: SecretStr | None = None
    free_pages: int = Field(default=5, ge=0, le=100)
    meter_window_days: int = Field(default=30, ge=1, le=366)
    session_idle_minutes: int = Field(default=8 * 60, ge=1)
    session_max_days: int = Field(default=7, ge=1)
    session_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["starttls", "implicit", "none"] = "starttls"
    smtp_user: str = ""
    smtp_password: SecretStr | None = None
    mail_from: str = "Clinical Notebook <no-reply@localhost>"
    unverified_read_unlimited: bool = True
    editorial_email: str = ""
    trusted_proxies: list[str] = Field(default_factory=list)
    oidc_providers: list[OidcProvider] = Field(default_factory=list)
    publish_check_seconds: float = Field(default=0.25, ge=0.05, le=60)
    keep_builds: int = Field(default=5, ge=2, le=1000)
    review_interval_days: int = Field(default=730, ge=1, le=3650)
    institutions: list[InstitutionSetting] = Field(default_factory=list)
    institutions_file: Path | None = None
    verify_crawlers: bool = True
    crawler_resolver: str = ""
    crawler_resolver_port: int = Field(default=53, ge=1, le=65535)
    crawler_dns_timeout: float = Field(default=1.0, gt=0, le=1.0)
    share_days: int = Field(default=7, ge=1, le=90)
    shares_per_day: int = Field(default=20, ge=0, le=1000)
    funnel_flush_seconds: float = Field(default=10.0, ge=0.05, le=300)
    crossref_url: str = "https://api.crossref.org"
    ncbi_eutils_url: str = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
    cite_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    build_engine: BuildEngineName = "mkdocs"
    cpd_min_seconds: int = Field(default=180, ge=1, le=86_400)
    cpd_credits_per_topic: float = Field(default=0.05, gt=0, le=24)
    cpd_max_seconds: int = Field(default=1800, ge=1, le=86_400)
    cpd_year_start_month: int = Field(default=4, ge=1, le=12)
    # None: on in production, off elsewhere (see `approval_required`).
    require_approval: bool | None = None
    preview_port: int = Field(default=8001, ge=1, le=65535)

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'site.db'}"
        self.public_url = self.public_url.rstrip("/")  # links are built as public_url + "/path"
        return self


def approval_required(settings: Settings) -> bool:
    """Whether a build refuses topics not approved as they stand (SITE_REQUIRE_APPROVAL)."""
    if settings.require_approval is None:
        return settings.env == "production"
    return settings.require_approval


def signing_key(settings: Settings) -> bytes:
    """The key that signs cookies: required in production, kept under var/ in development."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(f"SITE_SECRET_KEY must be at least {MIN_KEY_LENGTH} characters")
        return key.encode()
    if settings.env == "production":
        raise ConfigError(
            "SITE_SECRET_KEY is not set: production needs a random key of at least "
            f"{MIN_KEY_LENGTH} characters (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    path = settings.var_dir / DEV_KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip().encode()


# --- Whether SITE_PUBLIC_URL is the address readers reach: share links, emails and the printed
# address are built from it, so a wrong one sends colleagues to a port nobody serves.
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Names of this machine's loopback interface: one address for the comparison.
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: A server bound to every interface answers on any host name.
_ANY = {"0.0.0.0", "::"}


def _parts(url: str) -> tuple[str, str, int | None]:
    split = urlsplit(url)
    scheme = split.scheme.lower()
    host = (split.hostname or "").lower()
    try:
        port = split.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        port = None
    return scheme, "loopback" if host in _LOOPBACK else host, port


def public_url_mismatch(public_url: str, served: str) -> str | None:
    """A sentence saying why `public_url` is not `served` (the address a request reached, or
    the one a server listens on), or None when they agree.

    Loopback names (127.0.0.1, localhost, ::1) agree with one another; a server listening on
    every interface (0.0.0.0) agrees with any host name on its port.
    """
    scheme, host, port = _parts(public_url)
    if not scheme or not host or port is None:
        return f"SITE_PUBLIC_URL is {public_url!r}, which is not an http(s) address with a host."
    s_scheme, s_host, s_port = _parts(served)
    same_host = host == s_host or s_host in _ANY
    if (scheme, port) == (s_scheme, s_port) and same_host:
        return None
    return (
        f"SITE_PUBLIC_URL is {public_url} but this server is reached at {served}: share links, "
        "emails and printed addresses would point elsewhere. Set SITE_PUBLIC_URL to the address "
        "readers use (README: Running in production, The public address)."
    )


#: The peer of a request that came over a Unix socket (`site-api serve --uds`): it has no address,
#: so `SITE_TRUSTED_PROXIES` names it this way, as nginx's own `set_real_ip_from unix:` does.
UNIX_PEER = "unix:"


def peer_of(scope: Mapping[str, Any]) -> str:
    """The socket peer's address, `unix:` for a Unix socket (Granian gives it an empty host), or
    "" when the server names no client at all."""
    client = scope.get("client")
    if not client:
        return ""
    host = str(client[0])
    if host:
        return host
    server = scope.get("server")
    # Granian names a Unix socket's server by its path, and its peer by no address at all.
    return UNIX_PEER if server and str(server[0]).startswith("/") else ""


def address_reached(
    scheme: str, host_header: str, peer: str, forwarded_proto: str | None, trusted: list[str]
) -> str | None:
    """The address a request reached, as its browser saw it: through one of our trusted proxies,
    the `Host` it passed on and `X-Forwarded-Proto`; without proxies, the request's own. None
    when proxies are configured but this request did not come through one (a probe sent straight
    to the server cannot tell what readers' address is)."""
    if trusted and peer not in trusted:
        return None
    if peer in trusted and forwarded_proto:
        scheme = forwarded_proto.split(",")[0].strip().lower()
    return f"{scheme}://{host_header}" if host_header else None
