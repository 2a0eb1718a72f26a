"""The official OpenTok.js web samples (our rewrites, pages/) doing what their READMEs say, each
served from its own origin, with archivist.js and the sample app as the test web service."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.websamples.conftest import Site, Tab

pytestmark = pytest.mark.browser

PLAYING = """(sel) => [...document.querySelectorAll(sel)].some((v) => v.videoWidth > 0 && v.currentTime > 0.3)"""


def colour(tab: Tab, selector: str) -> list[float]:
    """Mean R, G, B of the first playing <video> matching selector."""
    return list(
        tab.page.evaluate(
            """(sel) => { const v = [...document.querySelectorAll(sel)].find((x) => x.videoWidth > 0);
                          const c = document.createElement('canvas'); c.width = 64; c.height = 48;
                          const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 48);
                          const d = g.getImageData(0, 0, 64, 48).data; const s = [0, 0, 0];
                          for (let i = 0; i < d.length; i += 4) { s[0] += d[i]; s[1] += d[i + 1]; s[2] += d[i + 2]; }
                          return s.map((x) => x / (d.length / 4)); }""",
            selector,
        )
    )


def frames_advance(tab: Tab, selector: str) -> None:
    before = tab.page.evaluate(f"() => document.querySelector('{selector}').currentTime")
    time.sleep(1.0)
    after = tab.page.evaluate(f"() => document.querySelector('{selector}').currentTime")
    assert after > before + 0.5, (before, after)


def test_basic_video_chat_two_tabs_see_each_other(tabs: Any, site: Site) -> None:
    a, b = tabs("basic-video-chat"), tabs("basic-video-chat")
    assert a.page.url.startswith("http://127.0.0.1:") and site.service.startswith("http://localhost:")
    for tab in (a, b):
        tab.wait(PLAYING, arg="#publisher video")
        tab.wait(PLAYING, arg="#subscriber video", timeout=30)
        frames_advance(tab, "#subscriber video")
        sizes = tab.page.evaluate(
            "() => [...document.querySelectorAll('#subscriber video')].map((v) => [v.videoWidth, v.videoHeight])"
        )
        assert [640, 480] in sizes, sizes
    assert not [m for m in a.log + b.log if m.startswith(("error", "pageerror", "alert"))], a.log + b.log


def test_signaling_text_chat(tabs: Any) -> None:
    a, b = tabs("signaling"), tabs("signaling")
    for tab in (a, b):
        tab.wait(PLAYING, arg="#subscriber video", timeout=30)
    a.page.fill("#msgTxt", "hello from A")
    a.page.press("#msgTxt", "Enter")
    b.wait("() => [...document.querySelectorAll('#history p.theirs')].some((p) => p.textContent === 'hello from A')")
    a.wait("() => [...document.querySelectorAll('#history p.mine')].some((p) => p.textContent === 'hello from A')")
    assert a.page.input_value("#msgTxt") == ""  # cleared once the signal was sent
    b.page.fill("#msgTxt", "and back")
    b.page.press("#msgTxt", "Enter")
    a.wait("() => [...document.querySelectorAll('#history p.theirs')].some((p) => p.textContent === 'and back')")
    # B's own copy comes back from the server like everyone else's: it may land after A's.
    b.wait("() => [...document.querySelectorAll('#history p.mine')].some((p) => p.textContent === 'and back')")
    assert b.page.locator("#history p.mine").all_inner_texts() == ["and back"]


def wait_archive_file(site: Site, view_url: str, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(view_url, follow_redirects=False, timeout=10)
        if r.status_code == 302:
            media = httpx.get(r.headers["location"], timeout=30)
            assert media.status_code == 200 and media.content[4:8] == b"ftyp", media.status_code
            return media
        assert r.status_code == 200 and "text/html" in r.headers["content-type"], r.status_code
        time.sleep(0.5)
    raise AssertionError(f"{view_url} never redirected to the archive")


def test_archiving_start_stop_and_view(tabs: Any, site: Site) -> None:
    tab = tabs("archiving")
    tab.wait(PLAYING, arg="#publisher video")
    tab.wait("() => document.querySelector('#publisher').querySelector('.OT_root, video')")
    time.sleep(1.0)  # the server has the publisher's media
    assert tab.page.locator("#stop").is_hidden()
    tab.page.click("#start")
    tab.wait("() => document.querySelector('#stop').style.display === 'inline'")  # archiveStarted
    assert tab.page.locator("#start").is_hidden()
    time.sleep(2.5)
    tab.page.click("#stop")
    link = tab.wait("() => { const a = document.querySelector('#archiveLink a'); return a && a.href; }")
    assert link.startswith(site.service + "/archive/") and link.endswith("/view"), link
    assert tab.page.locator("#start").is_visible() and tab.page.locator("#stop").is_hidden()
    media = wait_archive_file(site, link)
    assert len(media.content) > 10_000


def test_publish_video_from_a_video_element(tabs: Any) -> None:
    a, b = tabs("publish-video"), tabs("publish-video")
    for tab in (a, b):
        tab.wait(PLAYING, arg="#publisher video")
        tab.wait(PLAYING, arg="#subscriber video", timeout=30)
        sizes = tab.page.evaluate(
            "() => [...document.querySelectorAll('#subscriber video')].map((v) => [v.videoWidth, v.videoHeight])"
        )
        assert [320, 240] in sizes, sizes
        fit = tab.page.evaluate("() => document.querySelector('#publisher video').style.objectFit")
        assert fit == "contain"
    # the clip is blue with a red square: the received picture is the clip, not a camera
    r, g, bl = colour(b, "#subscriber video")
    assert bl > 120 and bl > 2 * g, (r, g, bl)
    frames_advance(b, "#subscriber video")


def test_publish_devices_pickers_meter_switching(tabs: Any) -> None:
    tab = tabs("publish-devices")
    tab.wait("() => !document.querySelector('#publish-btn').disabled")
    tab.wait("() => document.querySelectorAll('#video-source-select option').length === 2")
    options = "os => os.map((o) => [o.value, o.textContent])"
    audio = tab.page.eval_on_selector_all("#audio-source-select option", options)
    video = tab.page.eval_on_selector_all("#video-source-select option", options)
    assert len(audio) == 3 and all(label for _, label in audio), audio  # labels: access was granted first
    assert [label for _, label in video] == ["fake_device_0", "fake_device_1"], video
    tab.page.click("#publish-btn")
    tab.wait(PLAYING, arg="#publisher video")
    assert tab.page.locator("#publish-btn").is_hidden() and tab.page.locator("#cycle-video-btn").is_visible()
    tab.wait("() => document.querySelector('#audio-meter meter').value > 0.3")  # the fake microphone beeps
    track = "(kind) => document.querySelector('#publisher video').srcObject.getTracks().find((t) => t.kind === kind)"
    assert tab.page.evaluate(f"() => ({track})('video').getSettings().deviceId") == video[0][0]

    tab.page.select_option("#audio-source-select", audio[2][0])
    tab.wait("() => !document.querySelector('#audio-source-select').disabled")
    assert tab.page.evaluate(f"() => ({track})('audio').getSettings().deviceId") == audio[2][0]
    assert tab.page.evaluate(f"() => ({track})('audio').label") == audio[2][1]

    tab.page.click("#cycle-video-btn")
    tab.wait("(want) => document.querySelector('#video-source-select').value === want", arg=video[1][0])
    tab.wait("() => !document.querySelector('#cycle-video-btn').disabled")
    assert tab.page.evaluate(f"() => ({track})('video').getSettings().deviceId") == video[1][0]
    tab.wait(PLAYING, arg="#publisher video")
    assert not [m for m in tab.log if m.startswith(("alert", "pageerror"))], tab.log


def test_stream_filter_grayscale_reaches_the_other_side(tabs: Any) -> None:
    a, b = tabs("stream-filter"), tabs("stream-filter")
    for tab in (a, b):
        tab.wait("() => document.querySelector('#publisher [data-stream-created]') || "
                 "document.querySelector('#publisher .OT_root') && "
                 "document.querySelector('#publisher .OT_root').dataset.streamCreated === 'true'")
        tab.wait(PLAYING, arg="#subscriber video", timeout=30)
    r, g, bl = colour(b, "#subscriber video")
    assert g > r + 40 and g > bl + 40, (r, g, bl)  # Chromium's fake camera is green
    a.page.select_option("#filter", "grayscale")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r, g, bl = colour(b, "#subscriber video")
        if abs(r - g) < 12 and abs(g - bl) < 12:
            break
        time.sleep(0.3)
    assert abs(r - g) < 12 and abs(g - bl) < 12, (r, g, bl)
    a.page.select_option("#filter", "invert")
    a.wait("() => true")
    time.sleep(1.5)
    r, g, bl = colour(b, "#subscriber video")
    assert r > g + 40 and bl > g + 40, (r, g, bl)  # inverted green is magenta


def test_the_specs_web_sample_as_written(tabs: Any, site: Site) -> None:
    tab = tabs("spec-archiving")
    tab.wait(PLAYING, arg="#publisher video")
    time.sleep(1.0)
    assert tab.page.locator("#view").is_disabled()
    tab.page.click("#start")  # $.post(SAMPLE_SERVER_BASE_URL + '/archive/start', {sessionId}) (a form post)
    tab.wait("() => typeof archiveID === 'string' && archiveID.length > 0")  # from archiveStarted
    assert tab.page.locator("#stop").is_visible() and tab.page.locator("#start").is_hidden()
    time.sleep(2.5)
    tab.page.click("#stop")
    tab.wait("() => !document.querySelector('#view').disabled")
    tab.wait("() => getComputedStyle(document.querySelector('#start')).display !== 'none'")  # archiveStopped
    archive_id = tab.page.evaluate("() => archiveID")
    downloads: list[Any] = []
    tab.page.on("download", lambda d: downloads.append(d))
    tab.page.click("#view")
    # window.location = the service's /archive/:id/view: a page that waits for the archive and
    # plays it, or (when it is already available) a redirect to the file, which downloads
    deadline = time.monotonic() + 20
    while not downloads and not tab.page.url.startswith(site.service) and time.monotonic() < deadline:
        tab.page.wait_for_timeout(200)  # lets Playwright deliver the page's events
    if downloads:
        assert f"/archives/{archive_id}/download" in downloads[0].url, downloads[0].url
    else:
        assert tab.page.url == f"{site.service}/archive/{archive_id}/view", tab.page.url
        tab.wait("() => { const v = document.querySelector('#player');"
                 " return v && v.readyState >= 2 && v.videoWidth > 0; }", timeout=60)
    status = httpx.get(f"{site.service}/archive/{archive_id}", timeout=10).json()
    assert status["status"] in ("available", "uploaded") and status["id"] == archive_id, status
