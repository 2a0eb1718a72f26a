"""Fixtures of the real-network tests: namespaces (made and removed per test), coturn, the
server in a namespace, the official SDK and Python clients in another, Chromium in one."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import coturn, netns
from tests.netns import Namespace, Network

_reason: list[str] = []


@pytest.fixture(scope="session")
def namespaces_work() -> None:
    """Skip, loudly, where network namespaces cannot be made (no privileges)."""
    if not _reason:
        _reason.append(netns.unavailable())
        if not _reason[0]:
            netns.remove_stale()
    if _reason[0]:
        pytest.skip(
            f"NETWORK NAMESPACES UNAVAILABLE: {_reason[0]}. The NAT / TURN / firewall tests did NOT run "
            "and prove nothing here; CI runs them as root."
        )


@pytest.fixture
def network(namespaces_work: None) -> Iterator[Network]:
    net = Network()
    try:
        yield net
    finally:
        net.close()


@pytest.fixture(scope="session")
def coturn_installed() -> None:
    reason = coturn.unavailable()
    if reason:
        pytest.skip(f"COTURN UNAVAILABLE: {reason}. The TURN tests did NOT run.")


@pytest.fixture
def chromium_in(tmp_path: Path) -> Callable[[Namespace], str]:
    """``chromium_in(ns)``: an executable for Playwright's ``executable_path`` that runs
    Debian's Chromium inside namespace ``ns`` (Playwright talks to it over a pipe, which crosses
    namespaces; the browser's sockets are the namespace's)."""

    def make(ns: Namespace) -> str:
        script = tmp_path / f"chromium-{ns.name}"
        script.write_text(f'#!/bin/sh\nexec ip netns exec {ns.name} /usr/bin/chromium "$@"\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return str(script)

    return make
