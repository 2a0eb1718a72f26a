"""One typed settings object: environment variables, an optional TOML file, laptop defaults.

Every variable is ``ARCHIVIST_<NAME>``; ``PORT`` (platform deploys) overrides the port.
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
    max_body_bytes: int = 1_048_576
    ice_hosts: tuple[str, ...] = ()
    """Addresses advertised for WebRTC media; empty: every non-loopback interface address."""
    log_level: str = "INFO"
    log_json: bool = False
    create_default_project: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'archivist.db').resolve()}"

    @property
    def archives_dir(self) -> Path:
        return self.data_dir / "archives"


def _coerce(name: str, raw: Any) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    kind = kinds[name]
    if kind in ("Path",):
        return Path(str(raw))
    if kind == "int":
        return int(raw)
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
    values.update(overrides)
    return Settings(**values)
