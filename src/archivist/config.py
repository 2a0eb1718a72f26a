"""One typed settings object (``pydantic-settings``): environment variables, an optional TOML
file, laptop defaults.

Every variable is ``ARCHIVIST_<NAME>``; ``PORT`` (platform deploys) overrides the port, and the
spec's ``API_KEY``, ``API_SECRET``, ``API_URL`` configure the embedded sample app when ours are
unset. A TOML file named by ``ARCHIVIST_CONFIG`` may set the same names in lower case; the
environment wins over the file. :func:`load` reads them all; a bad value (``ARCHIVIST_PORT=abc``,
``ARCHIVIST_LOG_JSON=maybe``, an unknown name in the file) is a :class:`ConfigError` naming the
variable. ``Settings(...)`` alone takes only its arguments and the defaults (what tests build).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

PREFIX = "ARCHIVIST_"


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix=PREFIX,
        env_ignore_empty=True,  # ARCHIVIST_X= (empty) means "not set", as before
        use_attribute_docstrings=True,
    )

    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = ""
    public_url: str = ""
    """Base URL clients use to reach this server (archive download links). Default: derived per request."""
    max_archive_duration: int = 5400
    """Seconds after which an archive stops by itself (the spec's 90 minutes)."""
    archive_idle_timeout: float = Field(default=60.0, ge=0)
    """Seconds an archive stays ``paused`` after the last client left before it stops (``session
    ended``); a client coming back meanwhile resumes it. 0: it stops at once (the 2013 spec)."""
    min_free_mb: int = Field(default=200, ge=0)
    """An archive does not start with less free space (MiB) in the data directory; ``/health``
    reports ``low`` below it."""
    video_preset: str = "ultrafast"
    """libx264 preset of composed archives: ultrafast (least CPU) … medium (smallest files)."""
    recorder_process: bool = True
    """Each composed archive is recorded by a process of its own (its decoding and encoding never
    hold the server's GIL, so the event loop keeps its pace on a saturated machine); false: by a
    thread of the server (one process, less memory: ~40 MB less per archive)."""
    max_body_bytes: int = 1_048_576
    reconnect_grace: float = 30.0
    """Seconds a client whose WebSocket dropped keeps its connection, streams and subscriptions
    for a ``connect`` with its resume token (docs/protocol.md); 0: no resumption."""
    # ---- WebRTC media across networks (docs/deploy.md, media/ice.py) ----
    ice_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    """Local addresses the media sockets bind to (host candidates); empty: every non-loopback
    interface address."""
    ice_port_range: str = ""
    """``40000-40199``: every media UDP socket of the server binds inside it; empty: any port."""
    public_ips: Annotated[tuple[str, ...], NoDecode] = ()
    """Addresses announced in the host candidates instead of the bound interface addresses (1:1 NAT)."""
    stun_urls: Annotated[tuple[str, ...], NoDecode] = ()
    """STUN servers the server's own peers ask for their public address (and clients get)."""
    turn_urls: Annotated[tuple[str, ...], NoDecode] = ()
    """TURN servers handed to every client (and used by the server itself with the relay policy)."""
    turn_secret: str = Field(default="", repr=False)
    """coturn ``static-auth-secret`` (``use-auth-secret``): per-connection credentials."""
    turn_username: str = ""
    turn_password: str = Field(default="", repr=False)
    """Static TURN credentials, instead of ``turn_secret``."""
    turn_ttl: int = 3600
    """Seconds the per-connection TURN credentials stay valid for new allocations."""
    ice_transport_policy: str = "all"
    """``relay``: the server's own peers use only TURN relay candidates (no inbound UDP needed)."""
    # ---- TLS and proxies ----
    tls_certfile: str = ""
    tls_keyfile: str = ""
    """PEM certificate (chain) and key: ``archivist serve`` speaks HTTPS and WSS itself."""
    forwarded_allow_ips: str = ""
    """Proxies trusted for ``X-Forwarded-*`` (uvicorn's ``--forwarded-allow-ips``); empty:
    ``$FORWARDED_ALLOW_IPS`` or 127.0.0.1."""
    log_level: str = "INFO"
    log_json: bool = False
    create_default_project: bool = True
    sample_app: bool = True
    """Serve the archiving sample app at ``/`` of this server (``ARCHIVIST_SAMPLE_APP=false``: off)."""
    sample_api_key: str = ""
    """Credentials and API URL of the embedded sample app; also read from the spec's ``API_KEY``,
    ``API_SECRET``, ``API_URL``. Empty: the first project in the store, and this server itself."""
    sample_api_secret: str = Field(default="", repr=False)
    sample_api_url: str = ""
    metrics: bool = True
    """Serve ``GET /metrics`` (Prometheus; docs/operations.md)."""
    metrics_token: str = Field(default="", repr=False)
    """When set, ``/metrics`` wants ``Authorization: Bearer <token>``; empty: no authentication."""
    # ---- storage (docs/storage.md) ----
    signing_key: str = Field(default="", repr=False)
    """Key of the signed download URLs; empty: generated once into ``data_dir/signing.key``.
    Set the same value on every node of a deployment."""
    download_url_ttl: int = 600
    """Seconds a signed download URL stays valid (10 minutes, as the hosted service)."""
    archive_retention_days: float = 0.0
    """Archives older than this expire: their files are removed everywhere. 0: kept forever."""
    sweep_interval: float = 60.0
    """Seconds between two retention sweeps."""
    s3_bucket: str = ""
    """Default S3-compatible storage for projects without their own (``archivist projects set-storage``)."""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = Field(default="", repr=False)
    s3_prefix: str = ""
    azure_container: str = ""
    """Default Azure Blob storage for projects without their own; credentials: a connection
    string, or an account name and key, or an account URL and a SAS token."""
    azure_connection_string: str = Field(default="", repr=False)
    azure_account_name: str = ""
    azure_account_key: str = Field(default="", repr=False)
    azure_account_url: str = ""
    azure_sas_token: str = Field(default="", repr=False)
    azure_prefix: str = ""
    upload_attempts: int = 5
    """Upload attempts before the archive falls back to its local copy (then retried every
    ``fallback_retry_interval``)."""
    upload_backoff: float = 2.0
    upload_backoff_max: float = 120.0
    upload_lease: float = 900.0
    """Seconds one node owns an upload or removal it started (another node takes over after)."""
    fallback_retry_interval: float = 600.0
    storage_poll_interval: float = 1.0
    upload_while_recording: bool = True
    """Stream a composed archive to its S3 or Azure storage as it is recorded (multipart upload,
    block blob), so it is ``uploaded`` moments after stop; off: the upload starts at stop."""
    upload_follow_interval: float = 0.5
    """Seconds between two looks at a recording's file for new fragments to upload."""
    # ---- status callbacks (docs/webhooks.md) ----
    callback_url: str = ""
    """Status callback URL of every project that has none of its own (``archivist projects set-callback``)."""
    callback_allow_private: bool = False
    """Let callback URLs target loopback, link-local and private addresses (off: a tenant could
    reach the server's own network; ``webhooks/targets.py``). For single-tenant servers."""
    webhook_timeout: float = 10.0
    webhook_backoff: float = 5.0
    webhook_backoff_max: float = 3600.0
    webhook_give_up_after: float = 86400.0
    """Seconds after which an undelivered event is given up (state ``failed``; ``archivist webhooks retry``)."""
    webhook_poll_interval: float = 1.0
    webhook_log_retention_days: float = 7.0
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("ice_hosts", "public_ips", "stun_urls", "turn_urls", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """``ARCHIVIST_ICE_HOSTS=192.0.2.10, 198.51.100.7`` (a TOML file may give a list)."""
        if isinstance(value, str):
            return tuple(x.strip() for x in value.split(",") if x.strip())
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _one_default_store(self) -> Settings:
        if self.s3_bucket and self.azure_container:
            raise ValueError(f"set {PREFIX}S3_BUCKET or {PREFIX}AZURE_CONTAINER, not both")
        if self.azure_container and not (
            self.azure_connection_string or (self.azure_account_name and self.azure_account_key)
            or (self.azure_sas_token and (self.azure_account_url or self.azure_account_name))
        ):
            raise ValueError(f"{PREFIX}AZURE_CONTAINER needs {PREFIX}AZURE_CONNECTION_STRING, or "
                             f"{PREFIX}AZURE_ACCOUNT_NAME and {PREFIX}AZURE_ACCOUNT_KEY, or "
                             f"{PREFIX}AZURE_SAS_TOKEN with {PREFIX}AZURE_ACCOUNT_URL")
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'archivist.db').resolve()}"

    @property
    def archives_dir(self) -> Path:
        return self.data_dir / "archives"

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``, validated like the original (``dataclasses.replace`` of old)."""
        return type(self).model_validate({**dict(self), **changes})

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Highest first: :func:`load`'s overrides, ``PORT``, ``ARCHIVIST_*``, the TOML file, then
        the spec's names. Outside :func:`load`, only the arguments (and the defaults)."""
        loading = _LOADING.get()
        if loading is None:
            return (init_settings,)
        env, config_file = loading
        sources: list[PydanticBaseSettingsSource] = [init_settings, _Env(settings_cls, env, {"port": "PORT"}),
                                                     _Env(settings_cls, env)]
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        sources.append(_Env(settings_cls, env, _SPEC_NAMES))
        return tuple(sources)


_SPEC_NAMES = {"sample_api_key": "API_KEY", "sample_api_secret": "API_SECRET", "sample_api_url": "API_URL"}
"""The sample apps' Heroku names, used when ours are unset."""
_LOADING: ContextVar[tuple[Mapping[str, str], str | None] | None] = ContextVar("archivist_settings", default=None)


class _Env(EnvSettingsSource):
    """``ARCHIVIST_*`` from a given environment (``load(env=…)``), or only the ``names`` given
    (field → variable, e.g. ``PORT``), values stripped of surrounding blanks."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str],
                 names: dict[str, str] | None = None) -> None:
        self._given = env
        self._names = names
        super().__init__(settings_cls, env_prefix="" if names else PREFIX)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        if self._names is None:
            return parse_env_vars(self._given, False, True, None)
        found = {}
        for name, var in self._names.items():
            value = (self._given.get(var) or "").strip()
            if value:
                found[name] = value
        return found


def _variables(name: str) -> str:
    """The variables that set the field ``name``."""
    names = [f"{PREFIX}{name.upper()}"]
    names += [var for field, var in (*_SPEC_NAMES.items(), ("port", "PORT")) if field == name]
    return " or ".join(names)


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"])
        if not name:  # a check across settings
            lines.append(item["msg"].removeprefix("Value error, "))
        elif item["type"] == "extra_forbidden":
            lines.append(f"{name}: not a setting (in the {PREFIX}CONFIG file?)")
        else:
            message = item["msg"].removeprefix("Value error, ")
            field = Settings.model_fields.get(name)
            got = "***" if field is not None and not field.repr else repr(item["input"])
            lines.append(f"{name} ({_variables(name)}): {message} (got {got})")
    return "; ".join(lines)


@contextmanager
def _sources(env: Mapping[str, str], config_file: str | None) -> Iterator[None]:
    token = _LOADING.set((env, config_file))
    try:
        yield
    finally:
        _LOADING.reset(token)


def load(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """The settings of this process: ``overrides``, then ``PORT``, the ``ARCHIVIST_*`` variables
    of ``env`` (default: the environment), the TOML file of ``ARCHIVIST_CONFIG``, the spec's names."""
    import os

    env = dict(os.environ if env is None else env)
    config_file = env.get(f"{PREFIX}CONFIG") or None
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"{PREFIX}CONFIG: no such file {config_file}")
    try:
        with _sources(env, config_file):
            return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except ValueError as exc:  # a TOML file that does not parse
        raise ConfigError(f"{PREFIX}CONFIG ({config_file}): {exc}") from None
