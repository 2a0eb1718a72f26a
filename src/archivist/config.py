"""One typed settings object: environment variables, an optional TOML file, laptop defaults.

Every variable is ``ARCHIVIST_<NAME>``; ``PORT`` (platform deploys) overrides the port, and the
spec's ``API_KEY``, ``API_SECRET``, ``API_URL`` configure the embedded sample app.
A TOML file named by ``ARCHIVIST_CONFIG`` may set the same names in lower case; the environment
wins over the file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = ""
    public_url: str = ""
    """Base URL clients use to reach this server (archive download links). Default: derived per request."""
    max_archive_duration: int = 5400
    """Seconds after which an archive stops by itself (the spec's 90 minutes)."""
    video_preset: str = "ultrafast"
    """libx264 preset of composed archives: ultrafast (least CPU) … medium (smallest files)."""
    max_body_bytes: int = 1_048_576
    # ---- WebRTC media across networks (docs/deploy.md, media/ice.py) ----
    ice_hosts: tuple[str, ...] = ()
    """Local addresses the media sockets bind to (host candidates); empty: every non-loopback
    interface address."""
    ice_port_range: str = ""
    """``40000-40199``: every media UDP socket of the server binds inside it; empty: any port."""
    public_ips: tuple[str, ...] = ()
    """Addresses announced in the host candidates instead of the bound interface addresses (1:1 NAT)."""
    stun_urls: tuple[str, ...] = ()
    """STUN servers the server's own peers ask for their public address (and clients get)."""
    turn_urls: tuple[str, ...] = ()
    """TURN servers handed to every client (and used by the server itself with the relay policy)."""
    turn_secret: str = field(default="", repr=False)
    """coturn ``static-auth-secret`` (``use-auth-secret``): per-connection credentials."""
    turn_username: str = ""
    turn_password: str = field(default="", repr=False)
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
    sample_api_secret: str = field(default="", repr=False)
    sample_api_url: str = ""
    # ---- storage (docs/storage.md) ----
    signing_key: str = field(default="", repr=False)
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
    s3_secret_access_key: str = field(default="", repr=False)
    s3_prefix: str = ""
    upload_attempts: int = 5
    """Upload attempts before the archive falls back to its local copy (then retried every
    ``fallback_retry_interval``)."""
    upload_backoff: float = 2.0
    upload_backoff_max: float = 120.0
    upload_lease: float = 900.0
    """Seconds one node owns an upload or removal it started (another node takes over after)."""
    fallback_retry_interval: float = 600.0
    storage_poll_interval: float = 1.0
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
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'archivist.db').resolve()}"

    @property
    def archives_dir(self) -> Path:
        return self.data_dir / "archives"


_SPEC_NAMES = {"sample_api_key": "API_KEY", "sample_api_secret": "API_SECRET", "sample_api_url": "API_URL"}


def _coerce(name: str, raw: Any) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    kind = kinds[name]
    if kind in ("Path",):
        return Path(str(raw))
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "bool":
        return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
    if kind.startswith("tuple"):
        if isinstance(raw, (list, tuple)):
            return tuple(str(x) for x in raw)
        return tuple(x.strip() for x in str(raw).split(",") if x.strip())
    return str(raw)


def load(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    cfg_file = env.get("ARCHIVIST_CONFIG")
    names = [f.name for f in fields(Settings) if f.name != "extra"]
    if cfg_file:
        with open(cfg_file, "rb") as fh:
            data = tomllib.load(fh)
        for name in names:
            if name in data:
                values[name] = _coerce(name, data[name])
    for name in names:
        key = f"ARCHIVIST_{name.upper()}"
        if key in env and env[key] != "":
            values[name] = _coerce(name, env[key])
    if env.get("PORT"):
        values["port"] = int(env["PORT"])
    for name, spec_name in _SPEC_NAMES.items():  # the sample apps' Heroku names, when ours are unset
        if name not in values and env.get(spec_name, "").strip():
            values[name] = env[spec_name].strip()
    values.update(overrides)
    return Settings(**values)
