"""The spec's "time to test" steps, end to end, in headless Chromium against a real server.

Host view publishes and starts archiving (red indicator), a participant joins and publishes,
``/archive/{id}/view`` opened meanwhile waits, the host stops, the view page then plays the
recording, the past archives page lists it as available, and the download is an H.264 + AAC
MP4 of the archiving time that shows both participants. Screenshots for the README are written
to docs/screenshots/ on every run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentok import Client

from tests.sample.media import colour_regions, probe, write_png
from tests.servers import ROOT, Server

pytestmark = pytest.mark.browser

SHOTS = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1180, "height": 760}


def open_tab(chromium: Any, url: str) -> Any:
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.console_messages_seen = []  # type: ignore[attr-defined]
    page.on("console", lambda m: page.console_messages_seen.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: page.console_messages_seen.append(f"pageerror: {e}"))
    page.goto(url)
    return page


def wait_js(page: Any, expression: str, timeout: float = 20) -> Any:
    try:
        return page.wait_for_function(expression, timeout=timeout * 1000, polling=100).json_value()
    except Exception as exc:
        state = page.evaluate("() => [window.SampleState, window.ViewState].map(s => s && JSON.stringify("
                              "Object.assign({}, s, {session: undefined})))")
        raise AssertionError(f"{expression} not true: {state} {page.console_messages_seen[-10:]}") from exc


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def joined(page: Any) -> None:
    """Connected, published (the server has media), the page's own video playing."""
    wait_js(page, "() => SampleState.connected && SampleState.streamId")


def video_playing(page: Any, selector: str, timeout: float = 30) -> None:
    wait_js(
        page,
        f"() => {{ const v = document.querySelector('{selector}');"
        " return v && v.readyState >= 2 && v.currentTime > 0.3 && v.videoWidth > 0; }",
        timeout,
    )


def test_time_to_test_steps(
    server: Server, ot: Client, site: str, chromium: Any, chromium_blue: Any, tmp_path: Path
) -> None:
    # 1. Open the sample app; 2. "Host view"; 3. the camera (fake device, auto-allowed).
    host = open_tab(chromium, site + "/")
    assert host.locator("#host-view").inner_text().startswith("Host view")
    assert host.locator("#participant-view").inner_text().startswith("Participant view")
    shot(host, "1-home.png")
    host.click("#host-view")
    host.wait_for_url(site + "/host")
    joined(host)
    wait_js(host, "() => !document.getElementById('start').disabled")
    assert host.locator("#recording").is_hidden()

    # 4. "Start archiving": the red indicator shows, from the REST answer and the archive event.
    with host.expect_response(lambda r: r.url.endswith("/start")) as started_response:
        host.click("#start")
    assert started_response.value.status == 200, started_response.value.text()
    started_at = time.monotonic()
    archive = started_response.value.json()
    assert archive["status"] == "started" and archive["id"], archive
    archive_id = archive["id"]
    wait_js(host, "() => document.getElementById('recording').dataset.recording === 'true'")
    assert host.locator("#recording").is_visible()
    # the client library's own indicator on the publisher follows archiveStarted (pushed by the server)
    wait_js(host, "() => SampleState.archiveId && document.querySelector('#publisher .OT_archiving')"
                  ".dataset.archiving === 'true'")
    assert host.locator("#publisher .OT_archiving").is_visible()
    assert host.locator("#stop").is_visible() and host.locator("#start").is_hidden()

    # 5.-7. A second tab: "Participant view" shows the host's stream and publishes its own.
    participant = open_tab(chromium_blue, site + "/")  # its camera shows blue, the host's green
    participant.click("#participant-view")
    participant.wait_for_url(site + "/participant")
    joined(participant)
    wait_js(participant, "() => SampleState.subscribed.length === 1")
    video_playing(participant, "#subscribers video")
    # it connected to a session being recorded: archiveStarted on connect lights its indicator too
    wait_js(participant, f"() => SampleState.archiving && SampleState.archiveId === '{archive_id}'")
    assert participant.locator("#recording").is_visible()
    wait_js(host, "() => SampleState.subscribed.length === 1")
    video_playing(host, "#subscribers video")

    # /archive/{id}/view before the archive is available: a page that waits
    viewer = open_tab(chromium, f"{site}/archive/{archive_id}/view")
    assert viewer.url == f"{site}/archive/{archive_id}/view"
    wait_js(viewer, "() => window.ViewState && ViewState.polls >= 2")
    assert viewer.locator("#view-status").get_attribute("data-state") == "waiting"
    assert viewer.locator("#view-archive-status").inner_text() == "started"
    assert viewer.locator("#player").is_hidden()

    time.sleep(max(0.0, 4.0 - (time.monotonic() - started_at)))  # both streams recorded a while
    shot(participant, "3-participant.png")
    shot(host, "2-host-recording.png")

    # 8. "Stop archiving"
    with host.expect_response(lambda r: f"/stop/{archive_id}" in r.url) as stopped_response:
        host.click("#stop")
    assert stopped_response.value.status == 200, stopped_response.value.text()
    recorded_for = time.monotonic() - started_at
    assert stopped_response.value.json()["status"] in ("stopped", "available")
    wait_js(host, "() => document.getElementById('recording').dataset.recording === 'false'")
    assert host.locator("#recording").is_hidden()
    wait_js(participant, "() => !SampleState.archiving")  # archiveStopped reached the participant
    wait_js(host, "() => document.querySelector('#publisher .OT_archiving').dataset.archiving === 'false'")
    assert host.locator("#view").is_visible()

    # the waiting view page plays the recording as soon as it is available
    wait_js(viewer, "() => ViewState.state === 'playing'", timeout=120)
    video_playing(viewer, "#player")
    viewer.evaluate("() => new Promise(done => { const v = document.getElementById('player'); v.pause();"
                    " v.addEventListener('seeked', done, {once: true}); v.currentTime = v.duration - 1.5; })")
    shot(viewer, "5-view.png")  # a moment where both are in the picture

    # 9. "Past archives": listed first (newest first), becomes available (the page updates itself)
    host.click("#past-archives")
    host.wait_for_url(site + "/history")
    row = host.locator(f"tr.archive[data-id='{archive_id}']")
    assert host.locator("tr.archive").first.get_attribute("data-id") == archive_id
    wait_js(host, f"() => {{ const r = document.querySelector(\"tr.archive[data-id='{archive_id}']\");"
                  " return r && r.dataset.status === 'available'; }", timeout=120)
    row = host.locator(f"tr.archive[data-id='{archive_id}']")
    assert row.locator(".name").inner_text().startswith("Archivist sample app")
    final = ot.get_archive(archive_id)
    assert final.status == "available" and final.url, final.status
    assert row.locator(".duration").inner_text() == f"0:{final.duration:02d}"
    assert row.locator(".size").inner_text().endswith("kB") or row.locator(".size").inner_text().endswith("MB")
    assert row.locator(".created").inner_text().endswith("UTC")
    # the poster frame loads the recording's metadata and shows a picture
    wait_js(host, f"() => {{ const v = document.querySelector(\"tr[data-id='{archive_id}'] video.poster-frame\");"
                  " return v && v.readyState >= 2 && v.videoWidth === 640; }", timeout=30)
    shot(host, "4-history.png")
    # in-browser playback
    row.locator("button.play").click()
    video_playing(host, "#player")

    # 10. download the MP4 from the listing
    href = row.locator("a.download").get_attribute("href")
    assert href == f"/download/{archive_id}"
    download = host.request.get(site + href)
    assert download.status == 200, download.status
    body = download.body()
    assert len(body) == final.size
    path = tmp_path / "archive.mp4"
    path.write_bytes(body)
    media = probe(path)
    assert (media.video_codec, media.audio_codec) == ("h264", "aac")
    assert abs(media.duration - recorded_for) <= 1.0, (media.duration, recorded_for)
    assert abs(media.duration - final.duration) <= 1.0, (media.duration, final.duration)
    assert media.audio_peak > 0.01, "the recording is silent"  # the fake microphones beep
    write_png(media.late_frame, SHOTS / "6-recorded-frame.png")
    regions = colour_regions(media.late_frame)  # {colour: (fraction of the frame, mean x / width)}
    green, blue = regions["green"], regions["blue"]
    assert green[0] > 0.1 and blue[0] > 0.1, f"both participants should be in the recording: {regions}"
    assert abs(green[1] - blue[1]) > 0.25, f"the two should be side by side: {regions}"

    # /archive/{id}/view of an available archive redirects to the file
    redirect = httpx.get(f"{site}/archive/{archive_id}/view", follow_redirects=False)
    assert redirect.status_code == 302
    same = httpx.get(redirect.headers["location"], timeout=30)
    assert same.status_code == 200 and len(same.content) == final.size

    for page in (host, participant, viewer):
        page.context.close()
