"""Today's lifecycle through the spec's sample app: the host reloads its page mid-recording. With
everybody gone the archive is ``paused`` (``ARCHIVIST_ARCHIVE_IDLE_TIMEOUT``, 30 s here), the
reloaded page rejoins the same session and the same archive resumes: one archive, one file, the
host's picture before and after the reload."""

from __future__ import annotations

import time
from typing import Any

import pytest
from opentok import Client

from tests.recording.media import read_output
from tests.sample.test_sample_e2e import joined, open_tab, wait_js
from tests.servers import Server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"ARCHIVIST_ARCHIVE_IDLE_TIMEOUT": "30"}


def test_a_host_reloading_the_page_does_not_end_the_recording(
    server: Server, ot: Client, site: str, chromium: Any
) -> None:
    host = open_tab(chromium, site + "/host")
    joined(host)
    wait_js(host, "() => !document.getElementById('start').disabled")
    with host.expect_response(lambda r: r.url.endswith("/start")) as started:
        host.click("#start")
    assert started.value.status == 200, started.value.text()
    archive_id = started.value.json()["id"]
    session_id = started.value.json()["sessionId"]
    wait_js(host, "() => document.getElementById('recording').dataset.recording === 'true'")
    time.sleep(2.0)

    host.close()  # the page goes away (the browser closes its WebSocket: going away)
    deadline = time.monotonic() + 10
    while ot.get_archive(archive_id).status != "paused":
        assert time.monotonic() < deadline, ot.get_archive(archive_id).status
        time.sleep(0.1)
    paused_at = time.monotonic()

    host = open_tab(chromium, site + "/host")  # the host comes back to the same sample session
    joined(host)
    # the archive resumed: the same one, and the reloaded page knows it is being recorded
    wait_js(host, f"() => SampleState.archiving && SampleState.archiveId === '{archive_id}'")
    assert ot.get_archive(archive_id).status == "started"
    assert time.monotonic() - paused_at < 30
    listed = [a for a in ot.list_archives(session_id=session_id).items]
    assert [a.id for a in listed] == [archive_id]  # no second archive was started
    time.sleep(2.0)

    with host.expect_response(lambda r: f"/stop/{archive_id}" in r.url) as stopped:
        host.click("#stop")
    assert stopped.value.status == 200, stopped.value.text()
    deadline = time.monotonic() + 30
    while (archive := ot.get_archive(archive_id)).status not in ("available", "uploaded"):
        assert time.monotonic() < deadline and archive.status != "failed", archive.status
        time.sleep(0.2)
    host.close()

    out = read_output(server.archive_file(archive_id), keep_every=15)
    assert sorted(out.codecs) == ["aac", "h264"]
    assert out.container_duration >= 4.0  # both parts (the paused time is in it too)
    frames = [f for f in out.video_rgb if f is not None]
    # the host's camera (Chromium's fake: green with a turning pie) at the start and at the end
    assert float(frames[1].mean()) > 40 and float(frames[-1].mean()) > 40
