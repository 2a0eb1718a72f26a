"""Request signatures of status callbacks (HMAC-SHA256 with the project's API secret).

Each callback request carries::

    X-Archivist-Event-Id:  <uuid>                      the same for every retry of one event
    X-Archivist-Signature: t=<unix seconds>,v1=<hex>

where ``hex = HMAC_SHA256(api_secret, f"{t}.{event_id}.".encode() + raw_body).hexdigest()``.
A receiver recomputes it over the raw body bytes, compares in constant time, rejects a ``t``
too far from its own clock (replays), and drops an event id it has already processed
(at-least-once delivery: a retry after a lost response repeats an event).

Each request also carries the Standard Webhooks headers (standardwebhooks.com), so the
``standardwebhooks`` libraries verify it with the API secret's bytes as the key::

    webhook-id:        <event id>
    webhook-timestamp: <unix seconds>                 the same t
    webhook-signature: v1,<base64 HMAC_SHA256(api_secret, f"{id}.{t}.".encode() + raw_body)>
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

EVENT_ID_HEADER = "X-Archivist-Event-Id"
SIGNATURE_HEADER = "X-Archivist-Signature"
DELIVERY_ID_HEADER = "X-Archivist-Delivery-Id"
ATTEMPT_HEADER = "X-Archivist-Attempt"
TOLERANCE = 300
"""Seconds a receiver should accept between ``t`` and its own clock."""
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"


def _digest(secret: str, event_id: str, body: bytes, timestamp: int) -> str:
    message = f"{timestamp}.{event_id}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, event_id: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The ``X-Archivist-Signature`` value for one request."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_digest(secret, event_id, body, t)}"


def signed_headers(secret: str, event_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The signature headers of one request: ours and the Standard Webhooks ones, signed at one instant."""
    t = int(time.time()) if timestamp is None else timestamp
    standard = hmac.new(secret.encode(), f"{event_id}.{t}.".encode() + body, hashlib.sha256).digest()
    return {
        EVENT_ID_HEADER: event_id,
        SIGNATURE_HEADER: sign(secret, event_id, body, timestamp=t),
        STANDARD_ID_HEADER: event_id,
        STANDARD_TIMESTAMP_HEADER: str(t),
        STANDARD_SIGNATURE_HEADER: f"v1,{base64.b64encode(standard).decode()}",
    }


def verify(
    secret: str, event_id: str, body: bytes, header: str, *, tolerance: int = TOLERANCE, now: float | None = None
) -> bool:
    """True when ``header`` signs ``event_id`` + ``body`` with ``secret`` and is recent enough."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = _digest(secret, event_id, body, t)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))
