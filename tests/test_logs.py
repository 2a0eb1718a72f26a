"""The console log renders tracebacks as plain text. structlog's default once ``rich`` is
installed renders every frame's locals: measured on a full disk, one logged exception with an
aiortc peer in its frames held the event loop for tens of seconds, so the server stopped
answering while it wrote its error log."""

from __future__ import annotations

import io
import sys

import structlog

from archivist import logs


def test_tracebacks_are_plain_text_without_locals() -> None:
    out = io.StringIO()
    old = sys.stderr
    sys.stderr = out
    try:
        logs.configure("INFO")
        secret_local = "x" * 5000  # noqa: F841 - a frame's local that must not be rendered

        def fail() -> None:
            raise OSError(28, "No space left on device")

        try:
            fail()
        except OSError:
            logs.get("test").exception("recording failed", archive="a1")
    finally:
        sys.stderr = old
        structlog.reset_defaults()
        logs.configure("INFO")
    text = out.getvalue()
    assert "recording failed" in text and "archive=a1" in text
    assert "Traceback (most recent call last):" in text
    assert "OSError: [Errno 28] No space left on device" in text
    assert "xxxxxxxxxx" not in text  # no locals
    assert "╭" not in text  # no rich panels
