"""Sample-app fixtures: the sample app as a browser opens it (the server of ``tests/conftest.py``
serves it embedded), and Chromium."""

from __future__ import annotations

import os
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sample.media import write_test_video
from tests.servers import Server

CHROMIUM = os.environ.get("ARCHIVIST_E2E_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def site(server: Server) -> str:
    """The sample app as a browser on this machine opens it: http://localhost:<port> (a secure
    context, so the camera works), while the server itself listens on every address."""
    return f"http://localhost:{urllib.parse.urlsplit(server.url).port}"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """The sync Playwright API, one per module: while started it keeps an event loop on the main
    thread, which would break the asyncio tests of later modules."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    yield pw
    pw.stop()


def _launch(pw: Any, *extra: str) -> Any:
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        args=["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--no-sandbox",
              "--disable-gpu", *extra],
    )


@pytest.fixture(scope="module")
def chromium(playwright: Any) -> Iterator[Any]:
    """Headless Chromium with its built-in fake camera (green, a turning pie) and microphone."""
    browser = _launch(playwright)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def chromium_blue(playwright: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A second Chromium whose camera shows a blue test video: a participant told apart from the
    host in a recorded frame."""
    video = tmp_path_factory.mktemp("fake-camera") / "blue.y4m"
    write_test_video(video, (40, 70, 210))
    browser = _launch(playwright, f"--use-file-for-fake-video-capture={video}")
    yield browser
    browser.close()
