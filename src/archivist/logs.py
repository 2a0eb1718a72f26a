"""Structured logging (structlog on top of the standard library).

Secrets never reach a log line: :func:`redact` masks the values of keys that look secret, and
call sites log ids, never tokens or API secrets.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = ("secret", "token", "password", "authorization", "x-opentok-auth", "x-tb-partner-auth")


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event.keys()):
        if any(part in key.lower() for part in _SECRET_KEYS):
            event[key] = "***"
    return event


_STUN_USERNAME = re.compile(r"('USERNAME': )'[^']*'")


class StunCredentialFilter(logging.Filter):
    """aioice's debug dumps of STUN/TURN messages show the USERNAME attribute (a TURN
    credential of the server's own allocations): masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("aioice") and record.levelno <= logging.DEBUG:
            message = record.getMessage()
            if "'USERNAME'" in message:
                record.msg, record.args = _STUN_USERNAME.sub(r"\1'***'", message), ()
        return True


_configured = {"level": "INFO", "json": False}


def level_name() -> str:
    """The level :func:`configure` was last given (a child process logs at the same)."""
    return str(_configured["level"])


def json_enabled() -> bool:
    return bool(_configured["json"])


def configure(level: str = "INFO", json_logs: bool = False) -> None:
    _configured.update(level=level.upper(), json=json_logs)
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s", force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(StunCredentialFilter())
    renderer: Any = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(
        # plain text: rich's traceback (structlog's default once rich is installed) renders every
        # frame's locals, seconds of CPU on the event loop per logged exception
        colors=False, exception_formatter=structlog.dev.plain_traceback
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            # JSON lines carry the traceback as text; the console renderer formats it itself
            *([structlog.processors.format_exc_info] if json_logs else []),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get(name: str) -> Any:
    return structlog.get_logger(name)
