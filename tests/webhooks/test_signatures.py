"""Request signatures: our signer against the documented verifiers, and what they refuse."""

from __future__ import annotations

import time

import httpx

from archivist.webhooks.signatures import sign, verify
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
