"""Gateway settings, read once from the environment (pydantic-settings).

Every setting is an environment variable of the same name in upper case (``BIFROST_URL``,
``GATEWAY_PORT`` ...). The README's configuration table lists them all.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.generations import GENERATIONS, Generation, generation_named
from app.keyed_names import MIN_SECRET_CHARS
from app.keys import GatewayKey, parse_gateway_keys
from app.live.budget import DEFAULT_POLLED_IDS_PER_CLIENT

__all__ = ["Settings", "SettingsError", "load_settings"]

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
_GENERATION_NAMES = ", ".join(repr(name) for g in GENERATIONS for name in (g.name, *g.aliases))


class SettingsError(Exception):
    """Raised when the environment holds an invalid setting; the message names it."""


class Settings(BaseSettings):
    """All settings of the gateway and of the embedded Bifrost-compatible server.

    Example:
        >>> Settings(bifrost_url=None).uses_embedded_bifrost
        True
    """

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", frozen=True)

    # Upstream
    bifrost_url: AnyHttpUrl | None = None
    bifrost_api_generation: str = "auto"  # "auto" or a generation's name or alias (app.generations)
    bifrost_username: str | None = None
    bifrost_password: SecretStr | None = None
    bifrost_api_token: SecretStr | None = None
    upstream_connect_timeout: float = Field(2.0, gt=0)
    upstream_read_timeout: float = Field(10.0, gt=0)
    upstream_total_timeout: float = Field(15.0, gt=0)
    upstream_max_connections: int = Field(100, ge=1)
    upstream_max_response_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    dataloader_concurrency: int = Field(10, ge=1, le=100)
    upstream_coalesce_reads: bool = True
    # The HTTP client to a real Bifrost: the gateway's own on httptools (app.bifrost.h1wire), Rust's reqwest
    # or aiohttp (app.bifrost.wire)
    upstream_http_client: Literal["h1", "reqwest", "aiohttp"] = "h1"
    coalesce_queries: bool = True
    # A page of teams whose document reads only a team's identity, customer name, budgets and keys parses no more
    lean_team_pages: bool = True

    # Who the caller is (README: "Callers and credentials")
    gateway_api_keys: Annotated[tuple[GatewayKey, ...], NoDecode] = ()
    allow_anonymous_service_credentials: bool = False
    login_rate_limit_per_address: str = "10/minute"
    login_rate_limit_per_username: str = "5/minute"

    upstream_read_retries: int = Field(2, ge=0, le=5)
    breaker_failure_threshold: int = Field(5, ge=1)
    breaker_reset_seconds: float = Field(5.0, gt=0)

    # Limits on what one request may ask for
    max_query_depth: int = Field(10, ge=1, le=100)
    max_aliases: int = Field(15, ge=0, le=1000)
    max_tokens: int = Field(2000, ge=10, le=100_000)
    max_document_bytes: int = Field(64 * 1024, ge=256)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_query_cost: int = Field(50_000, ge=1)
    max_cost_in_flight: int = Field(50_000, ge=1)
    queue_above_cost: int = Field(1_000, ge=0)
    max_upstream_calls_per_request: int = Field(200, ge=1)
    max_upstream_bytes_per_request: int = Field(64 * 1024 * 1024, ge=1024)
    max_response_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    apq_cache_size: int = Field(1000, ge=0, le=100_000)
    apq_cache_bytes: int = Field(16 * 1024 * 1024, ge=0)

    # Execution: compiled plans (app.schema.compiled) or graphql-core's executor; the answers are the same
    gateway_compiled_execution: bool = True
    # The compiled hot modules (app/native.py). Read from the environment when ``app`` is imported, before settings
    # exist; here so that a value that is not a boolean is refused at start, naming the setting.
    gateway_native: bool = True

    # Trusted documents (README: "Trusted documents"): a manifest's file path or http(s) URL, and what to do with
    # documents it does not list. Secret: a signed storage URL carries its token.
    trusted_documents: SecretStr | None = None
    trusted_documents_mode: Literal["enforce", "allow-unlisted"] = "enforce"

    # Served as an Apollo Federation v2 subgraph (README: "Federation")
    federation: bool = False

    # State shared by replicas (in-process without REDIS_URL) and idempotency keys
    redis_url: SecretStr | None = None
    # Keys every Redis name derived from a credential (app.keyed_names); the same on every replica
    redis_key_secret: SecretStr | None = None
    redis_timeout: float = Field(0.5, gt=0, le=10)
    apq_shared_ttl: int = Field(24 * 3600, ge=1, le=30 * 24 * 3600)
    idempotency_ttl: int = Field(24 * 3600, ge=1, le=30 * 24 * 3600)
    idempotency_wait: float = Field(20.0, gt=0, le=300)
    idempotency_lease: float = Field(60.0, gt=0, le=3600)

    # Live data: subscriptions polled from Bifrost (README: "Live usage")
    live_poll_interval: float = Field(2.0, ge=0.1, le=3600)
    live_poll_lease: float | None = Field(None, gt=0, le=3600)  # with REDIS_URL; None: 3 intervals
    live_subscriber_queue: int = Field(8, ge=1, le=1000)
    live_max_watched_ids: int = Field(50, ge=1, le=1000)
    live_max_polled_ids_per_client: int = Field(DEFAULT_POLLED_IDS_PER_CLIENT, ge=1, le=100_000)
    live_max_subscriptions_per_connection: int = Field(20, ge=1, le=1000)
    live_max_connections_per_client: int = Field(20, ge=1, le=100_000)
    live_connection_init_timeout: float = Field(10.0, gt=0, le=300)
    live_ping_interval: float = Field(15.0, gt=0, le=3600)
    live_max_message_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)

    # Embedded Bifrost-compatible server (used when BIFROST_URL is unset; production must ask for it)
    embedded_bifrost: bool = False
    embedded_bifrost_database: str = ":memory:"
    embedded_bifrost_generation: str = "v2"  # a generation's name or alias (app.generations)
    embedded_bifrost_demo: bool = True
    # Chat completions with the demo keys, so usage moves; `make run` turns it on (v2 with the demo data set)
    embedded_bifrost_demo_traffic: bool = False

    # HTTP edge
    gateway_env: Literal["development", "production"] = "development"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(8000, ge=0, le=65535)
    web_concurrency: int = Field(1, ge=1, le=64)
    max_header_bytes: int = Field(16 * 1024, ge=1024, le=1024 * 1024)
    max_header_count: int = Field(100, ge=10, le=10_000)
    header_timeout: float = Field(10.0, gt=0, le=3600)
    body_timeout: float = Field(10.0, gt=0, le=3600)
    send_timeout: float = Field(30.0, gt=0, le=3600)
    keepalive_timeout: float = Field(5.0, gt=0, le=3600)
    http_edge_limits: bool = True
    http_direct_responses: bool = True
    worker_reuse_port: bool = True
    schema_endpoint: bool = True
    cors_allow_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    otel_enabled: bool = False
    otel_service_name: str = "bifrost-graphql-gateway"

    # Metrics: who may read /metrics, where, and which operation names become label values
    metrics_port: int | None = Field(None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    metrics_token: SecretStr | None = None
    metrics_operation_names: Annotated[list[str], NoDecode] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: object) -> object:
        if isinstance(data, dict):
            raw = data.get("cors_allow_origins")
            if isinstance(raw, str):
                data = {**data, "cors_allow_origins": [o.strip() for o in raw.split(",") if o.strip()]}
            raw = data.get("metrics_operation_names")
            if isinstance(raw, str):
                data = {**data, "metrics_operation_names": [n.strip() for n in raw.split(",") if n.strip()]}
        return data

    @field_validator("bifrost_api_generation")
    @classmethod
    def _known_generation(cls, value: str) -> str:
        value = value.strip().lower()
        if value == "auto":
            return value
        try:
            generation_named(value)
        except ValueError:
            raise ValueError(f"must be 'auto' or one of {_GENERATION_NAMES}, not {value[:40]!r}") from None
        return value

    @field_validator("upstream_http_client", mode="before")
    @classmethod
    def _client_name(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("embedded_bifrost_generation")
    @classmethod
    def _known_embedded_generation(cls, value: str) -> str:
        value = value.strip().lower()
        try:
            generation_named(value)
        except ValueError:
            raise ValueError(f"must be one of {_GENERATION_NAMES}, not {value[:40]!r}") from None
        return value

    @field_validator("gateway_api_keys", mode="before")
    @classmethod
    def _parse_gateway_keys(cls, value: object) -> object:
        return parse_gateway_keys(value) if isinstance(value, str) else value

    @field_validator("login_rate_limit_per_address", "login_rate_limit_per_username")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError("must look like '10/minute' or '5 per 30 seconds'") from None
        return value

    @field_validator("metrics_operation_names")
    @classmethod
    def _graphql_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not _GRAPHQL_NAME.fullmatch(name):
                raise ValueError(f"{name[:40]!r} is not a GraphQL operation name (letters, digits, _; at most 100)")
        return names

    @field_validator("metrics_token")
    @classmethod
    def _long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value().strip()) < 16:
            raise ValueError("must be at least 16 characters (a random token, e.g. `openssl rand -hex 32`)")
        return token

    @field_validator("redis_key_secret")
    @classmethod
    def _secret_long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value().strip()) < MIN_SECRET_CHARS:
            raise ValueError(
                f"must be at least {MIN_SECRET_CHARS} characters (a random value shared by every replica, "
                "e.g. `openssl rand -hex 32`)"
            )
        return secret

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.upstream_total_timeout < self.upstream_connect_timeout:
            raise ValueError("UPSTREAM_TOTAL_TIMEOUT must be at least UPSTREAM_CONNECT_TIMEOUT")
        if self.max_document_bytes > self.max_body_bytes:
            raise ValueError("MAX_DOCUMENT_BYTES must not exceed MAX_BODY_BYTES")
        if self.redis_url is not None and not self.redis_url.get_secret_value().startswith(_REDIS_SCHEMES):
            raise ValueError("REDIS_URL must start with redis://, rediss:// or unix://")
        if self.is_production and self.redis_url is not None and self.redis_key_secret is None:
            # Without it each replica keys its Redis names its own way: they would share nothing, silently.
            raise ValueError(
                "REDIS_KEY_SECRET is required when GATEWAY_ENV=production and REDIS_URL is set: set it to a random "
                f"value of at least {MIN_SECRET_CHARS} characters, the same on every replica (e.g. `openssl rand "
                "-hex 32`); it keys the names derived from credentials that the gateway writes into Redis"
            )
        if self.live_poll_lease is not None and self.live_poll_lease <= self.live_poll_interval:
            # A lease that lapses before its holder's next renewal would be taken over every interval.
            raise ValueError("LIVE_POLL_LEASE must be longer than LIVE_POLL_INTERVAL")
        if self.live_max_polled_ids_per_client < self.live_max_watched_ids:
            # A subscription that LIVE_MAX_WATCHED_IDS allows would always be refused by the client's budget.
            raise ValueError("LIVE_MAX_POLLED_IDS_PER_CLIENT must be at least LIVE_MAX_WATCHED_IDS")
        if self.idempotency_lease < self.upstream_total_timeout:
            # A claim whose lease runs out while its write is still on its way could be run again.
            raise ValueError("IDEMPOTENCY_LEASE must be at least UPSTREAM_TOTAL_TIMEOUT")
        if self.is_production and "*" in self.cors_allow_origins:
            # Credentials (the login cookie) are allowed cross-origin: a wildcard would hand them to any site.
            raise ValueError("CORS_ALLOW_ORIGINS must list origins, not '*', when GATEWAY_ENV=production")
        self._check_trusted_documents()
        if self.metrics_port is not None and self.metrics_port == self.gateway_port:
            raise ValueError("METRICS_PORT must differ from GATEWAY_PORT")
        if self.embedded_bifrost and self.bifrost_url is not None:
            raise ValueError("EMBEDDED_BIFROST must not be true when BIFROST_URL is set: choose one upstream")
        if self.is_production and self.bifrost_url is None and not self.embedded_bifrost:
            # Without this, a deployment that lost its BIFROST_URL would serve in-memory demo data as if real.
            raise ValueError(
                "BIFROST_URL is required when GATEWAY_ENV=production (set EMBEDDED_BIFROST=true to serve the "
                "embedded Bifrost-compatible server instead)"
            )
        if (self.bifrost_username is None) != (self.bifrost_password is None):
            missing, given = (
                ("BIFROST_PASSWORD", "BIFROST_USERNAME")
                if self.bifrost_password is None
                else ("BIFROST_USERNAME", "BIFROST_PASSWORD")
            )
            raise ValueError(f"{missing} must be set too when {given} is set")
        if (
            self.is_production
            and self.has_service_credentials
            and not self.gateway_api_keys
            and not self.allow_anonymous_service_credentials
        ):
            # Nobody could use the service credential but anonymous callers: refuse rather than guess.
            raise ValueError(
                "GATEWAY_API_KEYS is required when GATEWAY_ENV=production and a service credential is set "
                "(BIFROST_API_TOKEN or BIFROST_USERNAME/BIFROST_PASSWORD): only callers with a gateway key may use "
                "it (ALLOW_ANONYMOUS_SERVICE_CREDENTIALS=true hands it to every anonymous caller instead)"
            )
        return self

    def _check_trusted_documents(self) -> None:
        if self.trusted_documents is None:
            if "trusted_documents_mode" in self.model_fields_set:
                # A mode without a manifest enforces nothing: an operator reading "enforce" would believe otherwise.
                raise ValueError("TRUSTED_DOCUMENTS_MODE is set but TRUSTED_DOCUMENTS (the manifest) is not")
            return
        location = self.trusted_documents.get_secret_value().strip()
        if not location:
            raise ValueError("TRUSTED_DOCUMENTS must be a file path or an http(s) URL")
        if "://" not in location:
            return  # a file path
        try:
            url = urlsplit(location)
            scheme, host = url.scheme, url.hostname
        except ValueError:
            scheme, host = "", None
        if scheme not in ("http", "https") or not host:
            raise ValueError("TRUSTED_DOCUMENTS must be a file path or an http(s) URL")
        if self.is_production and scheme == "http" and host not in ("127.0.0.1", "localhost", "::1"):
            # Whoever can change the manifest on its way decides what runs: plain http only from this machine.
            raise ValueError(
                "TRUSTED_DOCUMENTS must be an https:// URL (or a file path) when GATEWAY_ENV=production; "
                "plain http only from 127.0.0.1 or localhost"
            )

    @property
    def embedded_generation(self) -> Generation:
        """The generation ``EMBEDDED_BIFROST_GENERATION`` names (the embedded server speaks it)."""
        return generation_named(self.embedded_bifrost_generation)

    @property
    def fixed_api_generation(self) -> Generation | None:
        """The generation ``BIFROST_API_GENERATION`` names, None for ``auto`` (detected from the upstream)."""
        if self.bifrost_api_generation == "auto":
            return None
        return generation_named(self.bifrost_api_generation)

    @property
    def has_service_credentials(self) -> bool:
        """True when a service credential (token, or username and password) is configured."""
        return self.bifrost_api_token is not None or (
            self.bifrost_username is not None and self.bifrost_password is not None
        )

    @property
    def uses_embedded_bifrost(self) -> bool:
        """True when no Bifrost URL is configured and the embedded server answers instead (in production only
        with ``EMBEDDED_BIFROST=true``)."""
        return self.bifrost_url is None

    @property
    def upstream_base_url(self) -> str:
        """The Bifrost base URL without a trailing slash (an internal name for the embedded one)."""
        if self.bifrost_url is None:
            return "http://embedded-bifrost"
        return str(self.bifrost_url).rstrip("/")

    @property
    def is_production(self) -> bool:
        """True in the production profile."""
        return self.gateway_env == "production"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, raising SettingsError that names each bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors()]
        raise SettingsError("invalid setting " + "; ".join(problems)) from None


def _problem(error: Any) -> str:
    """``NAME: what is wrong`` for one validation error; a check across settings names the setting it refuses."""
    name = ".".join(str(p) for p in error["loc"]).upper()
    message = str(error["msg"]).removeprefix("Value error, ")
    if name:
        return f"{name}: {message}"
    # Checks across settings (``_check_consistency``) start their message with the setting they refuse.
    first, _, rest = message.partition(" ")
    if first.isupper() and first.replace("_", "").isalnum() and rest:
        return f"{first}: {rest}"
    return message
