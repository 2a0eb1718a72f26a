"""The sample app's configuration: the spec's Heroku names ``API_KEY``, ``API_SECRET``, ``API_URL``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_API_URL = "http://127.0.0.1:8080"


class SampleConfigError(ValueError):
    """The environment does not say how to reach the Archivist server."""


@dataclass(frozen=True)
class SampleConfig:
    api_key: str
    api_secret: str
    api_url: str = DEFAULT_API_URL
    """Base URL of the Archivist server's REST API, as the app server reaches it."""
    browser_url: str = ""
    """Base URL browsers load ``/static/archivist.js`` from (and signal to). Empty: same origin."""
    archive_name: str = "Archivist sample app"
    page_size: int = 5
    timeout: float = 15.0

    def __post_init__(self) -> None:
        if not self.api_key or not self.api_secret:
            raise SampleConfigError("the sample app needs API_KEY and API_SECRET")
        if not self.api_url.startswith(("http://", "https://")):
            raise SampleConfigError(f"API_URL must be an http(s) URL, not {self.api_url!r}")

    @property
    def client_library_url(self) -> str:
        return f"{self.browser_url.rstrip('/')}/static/archivist.js"

    def __repr__(self) -> str:  # never print the secret
        return f"SampleConfig(api_key={self.api_key!r}, api_url={self.api_url!r}, browser_url={self.browser_url!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SampleConfig:
        """``API_KEY``, ``API_SECRET``, ``API_URL`` (default http://127.0.0.1:8080; the spec's
        Heroku section calls it ``API_ENDPOINT``, accepted too) and ``ARCHIVIST_BROWSER_URL``
        (default: ``API_URL``)."""
        env = os.environ if env is None else env
        api_url = (env.get("API_URL") or env.get("API_ENDPOINT") or DEFAULT_API_URL).rstrip("/")
        return cls(
            api_key=env.get("API_KEY", "").strip(),
            api_secret=env.get("API_SECRET", "").strip(),
            api_url=api_url,
            browser_url=(env.get("ARCHIVIST_BROWSER_URL") or api_url).rstrip("/"),
        )
