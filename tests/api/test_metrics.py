"""``GET /metrics`` scraped from a real server while a real session records: two aiortc clients
(one publishes, one subscribes), an archive started and stopped with the official SDK, status
callbacks to a receiver that is down; the values move as the session does. Access: the bearer
token, and ``ARCHIVIST_METRICS=false``."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentok import Client, MediaModes
from prometheus_client.parser import text_string_to_metric_families

from archivist.client import ArchivistClient
from tests.servers import ROOT, Server, free_port, make_server
from tests.storage.harness import fast_settings, running_app

TOKEN = "scrape-me-0123456789"


@pytest.fixture(scope="module")
def metrics_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    down = f"http://127.0.0.1:{free_port()}/events"  # nothing listens: every callback attempt fails
    srv = make_server(tmp_path_factory.mktemp("metrics"), extra_env={
        "ARCHIVIST_METRICS_TOKEN": TOKEN, "ARCHIVIST_CALLBACK_URL": down,
        "ARCHIVIST_WEBHOOK_BACKOFF": "0.2", "ARCHIVIST_WEBHOOK_BACKOFF_MAX": "0.5",
    })
    yield srv
    srv.stop()


class Scrape:
    def __init__(self, text: str) -> None:
        self.samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.types: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                self.samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value

    def __call__(self, name: str, **labels: str) -> float:
        return self.samples[(name, tuple(sorted(labels.items())))]

    def labelled(self, name: str) -> dict[tuple[tuple[str, str], ...], float]:
        return {labels: value for (n, labels), value in self.samples.items() if n == name}


async def _scrape(server: Server) -> Scrape:
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape(r.text)


async def _until(server: Server, check: Any, what: str, timeout: float = 20.0) -> Scrape:
    deadline = time.monotonic() + timeout
    while True:
        scrape = await _scrape(server)
        if check(scrape):
            return scrape
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_metrics_follow_a_recorded_session(metrics_server: Server) -> None:
    server = metrics_server
    async with httpx.AsyncClient() as http:
        refused = await http.get(f"{server.url}/metrics")
        assert refused.status_code == 401 and refused.json()["code"] == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        wrong = await http.get(f"{server.url}/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        openmetrics = await http.get(f"{server.url}/metrics", headers={
            "Authorization": f"Bearer {TOKEN}", "Accept": "application/openmetrics-text; version=1.0.0"})
        assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
        assert openmetrics.text.rstrip().endswith("# EOF")

    idle = await _scrape(server)
    assert idle("archivist_sessions") == idle("archivist_connections") == idle("archivist_streams") == 0
    assert idle("archivist_recordings") == 0 and idle("archivist_archives", status="started") == 0
    assert idle.types["archivist_event_loop_lag_seconds"] == "histogram"
    assert list(idle.labelled("archivist_info").values()) == [1]
    assert idle("process_cpu_seconds_total") > 0

    ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=20)
    sid = ot.create_session(media_mode=MediaModes.routed).session_id
    alice = await ArchivistClient.open(server.url, server.project.api_key, sid, ot.generate_token(sid))
    bob = await ArchivistClient.open(server.url, server.project.api_key, sid, ot.generate_token(sid))
    try:
        published = await alice.publish(name="alice")
        await bob.subscribe(published.stream_id)
        live = await _scrape(server)
        assert (live("archivist_sessions"), live("archivist_connections"), live("archivist_streams"),
                live("archivist_subscriptions")) == (1, 2, 1, 1)

        archive = await asyncio.to_thread(ot.start_archive, sid, name="metrics")
        labels = {"archive_id": archive.id, "project": server.project.api_key}
        first = await _until(server, lambda s: s.labelled("archivist_recording_cpu_seconds_total")
                             and s("archivist_recording_cpu_seconds_total", **labels) > 0, "recorder CPU")
        assert first("archivist_recordings") == 1 and first("archivist_archives", status="started") == 1
        lag = first("archivist_recording_lag_seconds", **labels)
        assert 0.25 <= lag < 60  # its render latency (at least 0.25 s) plus a loop; more when CPU-starved
        assert first("archivist_recording_degraded", **labels) in (0, 1)
        assert first("archivist_recording_picture_behind_seconds", **labels) >= 0
        await asyncio.sleep(1.5)
        later = await _scrape(server)
        assert later("archivist_recording_cpu_seconds_total", **labels) > \
            first("archivist_recording_cpu_seconds_total", **labels)  # it moves while it records
        assert later("archivist_recorder_cpu_seconds_total") >= later("archivist_recording_cpu_seconds_total",
                                                                      **labels)
        assert later("archivist_event_loop_lag_seconds_count") > idle("archivist_event_loop_lag_seconds_count")
        # the "started" event cannot be delivered: attempts fail, the outbox holds it, and it ages
        failing = await _until(server, lambda s: s("archivist_webhook_attempts_total", outcome="failed") >= 2,
                               "failed callback attempts")
        assert failing("archivist_webhook_outbox", state="pending") >= 1
        assert failing("archivist_webhook_oldest_pending_seconds") > 0

        await asyncio.to_thread(ot.stop_archive, archive.id)
        stopped = await _until(server, lambda s: s("archivist_archives", status="available") == 1, "available")
        assert stopped("archivist_recordings") == 0 and stopped("archivist_archives", status="started") == 0
        assert not stopped.labelled("archivist_recording_cpu_seconds_total")  # finished recorders leave
        assert stopped("archivist_recorder_cpu_seconds_total") >= later("archivist_recorder_cpu_seconds_total")
        assert stopped("archivist_archive_files", state="stored") == 1 and stopped("archivist_uploads_pending") == 0
    finally:
        await alice.close()
        await bob.close()
    gone = await _until(server, lambda s: s("archivist_sessions") == 0, "the session to end")
    assert gone("archivist_connections") == gone("archivist_streams") == gone("archivist_subscriptions") == 0


async def test_metrics_can_be_turned_off_and_are_all_documented(tmp_path: Path) -> None:
    async with running_app(fast_settings(tmp_path / "off", metrics=False)) as (_svc, http):
        off = await http.get("/metrics")
        assert off.status_code == 404 and off.json()["code"] == 404
    async with running_app(fast_settings(tmp_path / "open")) as (_svc, http):
        open_ = await http.get("/metrics")  # no token configured: no authentication
        assert open_.status_code == 200 and "archivist_sessions 0.0" in open_.text
    served = {f.name for f in text_string_to_metric_families(open_.text) if f.name.startswith("archivist_")}
    table = (ROOT / "docs" / "operations.md").read_text().split("## The metrics", 1)[1].split("## Alerts", 1)[0]
    documented = {re.sub(r"_total$", "", name) for name in re.findall(r"^\| `(archivist_\w+)", table, re.M)}
    assert served == documented
