"""Request signatures: our signer against the documented verifiers, and what they refuse; the
Standard Webhooks headers against the ``standardwebhooks`` package."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from archivist.webhooks.signatures import sign, signed_headers, verify
from tests.webhooks.docs_examples import node_verifies, python_verifier
from tests.webhooks.receiver import Received


def _request(secret: str, event_id: str, body: bytes, *, timestamp: int | None = None) -> Received:
    headers = {"X-Archivist-Event-Id": event_id, "X-Archivist-Signature": sign(secret, event_id, body,
                                                                              timestamp=timestamp)}
    return Received("/", headers, body, time.time())


def test_signatures_verify_and_refuse() -> None:
    secret, event_id = "s" * 40, "5f0c6c1e-6a55-4b8e-9a63-2d1f0e0b8f51"
    body = '{"event":"archive","status":"available","name":"Réunion"}'.encode()
    good = _request(secret, event_id, body)
    header = good.headers["X-Archivist-Signature"]
    assert verify(secret, event_id, body, header)
    assert not verify("t" * 40, event_id, body, header)
    assert not verify(secret, "another-event", body, header)
    assert not verify(secret, event_id, body + b" ", header)
    old = _request(secret, event_id, body, timestamp=int(time.time()) - 301)
    assert not verify(secret, event_id, body, old.headers["X-Archivist-Signature"])
    assert not verify(secret, event_id, body, "t=notanumber,v1=00")
    assert not verify(secret, event_id, body, "")

    check = python_verifier()
    tampered = Received("/", dict(good.headers), body.replace(b"available", b"deleted"), time.time())
    swapped = Received("/", good.headers | {"X-Archivist-Event-Id": "other"}, body, time.time())
    cases = [good, tampered, swapped, old]
    assert [check(secret, httpx.Headers(r.headers), r.body) for r in cases] == [True, False, False, False]
    assert node_verifies(secret, cases) == [True, False, False, False]


def test_standard_webhooks_headers_verify_with_the_standardwebhooks_package() -> None:
    secret, event_id = "s" * 40, "5f0c6c1e-6a55-4b8e-9a63-2d1f0e0b8f51"
    body = '{"event":"archive","status":"available","name":"Réunion"}'.encode()
    headers = signed_headers(secret, event_id, body)
    assert headers["webhook-id"] == headers["X-Archivist-Event-Id"] == event_id
    assert headers["X-Archivist-Signature"].startswith(f"t={headers['webhook-timestamp']},v1=")
    assert verify(secret, event_id, body, headers["X-Archivist-Signature"])  # ours, unchanged
    # the documented key: the API secret's bytes, or the same as a "whsec_" base64 string
    for key in (secret.encode(), "whsec_" + base64.b64encode(secret.encode()).decode()):
        assert Webhook(key).verify(body, headers)["status"] == "available"
    for bad_body, bad_headers in [
        (body.replace(b"available", b"deleted"), headers),
        (body, headers | {"webhook-id": "another"}),
        (body, headers | {"webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)}),
        (body, signed_headers(secret, event_id, body, timestamp=int(time.time()) - 301)),
    ]:
        with pytest.raises(WebhookVerificationError):
            Webhook(secret.encode()).verify(bad_body, bad_headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(b"t" * 40).verify(body, headers)
