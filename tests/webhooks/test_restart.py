"""A real server process killed (SIGKILL) while status callbacks are pending: after the restart
every event is delivered, in order per archive, exactly once, and the log shows the attempts."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
from opentok import Client, MediaModes

from archivist.archives.status import ArchiveStatus
from tests.seed import seed_archive
from tests.servers import free_port, make_server
from tests.webhooks.docs_examples import python_verifier
from tests.webhooks.receiver import Receiver

FAST = {
    "ARCHIVIST_WEBHOOK_BACKOFF": "0.1",
    "ARCHIVIST_WEBHOOK_BACKOFF_MAX": "0.5",
    "ARCHIVIST_WEBHOOK_POLL_INTERVAL": "0.1",
    "ARCHIVIST_SAMPLE_APP": "false",
}


def _wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_pending_events_survive_a_killed_server(tmp_path: Path) -> None:
    receiver = Receiver(free_port())  # down for now
    server = make_server(tmp_path, extra_env=FAST)
    try:
        key, secret = server.project.api_key, server.project.api_secret
        hdr = {"X-TB-PARTNER-AUTH": f"{key}:{secret}"}
        registered = httpx.post(f"{server.url}/v2/partner/{key}/callback", headers=hdr,
                                json={"url": receiver.url + "/registry", "group": "archive", "event": "status"})
        assert registered.status_code == 200
        assert server.cli("projects", "set-callback", key, receiver.url + "/project").returncode == 0

        ot = Client(key, secret, api_url=server.url, timeout=20)
        session_id = ot.create_session(media_mode=MediaModes.routed).session_id
        running = seed_archive(server, session_id, ArchiveStatus.STARTED)
        done = seed_archive(server, session_id, ArchiveStatus.AVAILABLE)
        ot.stop_archive(running.id)  # stopped (and whatever follows without a recorder behind it)
        ot.delete_archive(done.id)  # deleted

        def pending_with_failures() -> list[dict[str, object]]:
            out = server.cli("webhooks", "deliveries", "--json").stdout
            items: list[dict[str, object]] = json.loads(out)
            first_tries = [d for d in items if d["seq"] == 1]
            ok = items and all(d["state"] == "pending" for d in items) and \
                all(int(d["attempts"]) >= 1 for d in first_tries)  # type: ignore[call-overload]
            return items if ok else []

        _wait(pending_with_failures, 20, "refused attempts logged")
        before = pending_with_failures()
        server.stop(signal.SIGKILL)
        server.start()
        receiver.start()
        expected = len(before)
        _wait(lambda: len(receiver.received) >= expected, 30, "every pending event after the restart")
        time.sleep(0.5)  # nothing more (no duplicates) arrives
        assert len(receiver.received) == expected

        log: list[dict[str, object]] = json.loads(server.cli("webhooks", "deliveries", "--json").stdout)
        assert {d["state"] for d in log} == {"delivered"}
        check = python_verifier()
        for path in ("/registry", "/project"):
            got = receiver.on(path)
            assert all(check(secret, httpx.Headers(r.headers), r.body) for r in got)
            for archive_id in (running.id, done.id):
                statuses = [r.json["status"] for r in got if r.json["id"] == archive_id]
                in_log = [d["status"] for d in sorted(log, key=lambda d: int(d["seq"]))  # type: ignore[call-overload]
                          if d["archiveId"] == archive_id and d["url"] == receiver.url + path]
                assert statuses == in_log and statuses, (archive_id, statuses, in_log)
            assert next(r.json["status"] for r in got if r.json["id"] == running.id) == "stopped"
            assert [r.json["status"] for r in got if r.json["id"] == done.id] == ["deleted"]
        event_ids = [r.headers["X-Archivist-Event-Id"] for r in receiver.received]
        assert len(event_ids) == 2 * len(set(event_ids))  # each event once per URL
        refused = [a for d in log for a in d["log"] if a["statusCode"] is None]  # type: ignore[attr-defined]
        assert refused and all("Connect" in str(a["error"]) for a in refused)
        assert "server restarted" not in server.logs()
    finally:
        receiver.stop()
        server.stop()
