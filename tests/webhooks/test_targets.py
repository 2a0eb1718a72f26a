"""Callback URLs cannot reach the server's own network unless ARCHIVIST_CALLBACK_ALLOW_PRIVATE=true:
refused where they are set (REST registry, CLI, ARCHIVIST_CALLBACK_URL) and, for names, where
they are used (every delivery attempt resolves the name and connects to the checked address)."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from archivist.webhooks import targets
from tests.servers import ARCHIVIST, Server, free_port, make_server
from tests.storage.harness import auth, fast_settings, finished_archive, running_app, wait_for
from tests.webhooks.receiver import Receiver

INSIDE = [
    "http://127.0.0.1:8080/hook", "http://127.1/hook", "http://2130706433/hook", "http://0x7f.0.0.1/hook",
    "http://0177.0.0.1/hook", "http://localhost/hook", "http://api.localhost./hook", "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook", "http://0.0.0.0/hook", "http://169.254.169.254/latest/meta-data",
    "http://[fe80::1]/hook", "http://10.0.0.7/hook", "http://172.16.5.4/hook", "http://192.168.1.1/hook",
    "http://100.64.0.1/hook", "http://[fd00::1]/hook", "https://224.0.0.1/hook", "http://user:pw@127.0.0.1/",
]
OUTSIDE = ["https://app.example.com/archive-events", "http://93.184.215.14/hook", "https://[2606:4700::1]:8443/x",
           "http://www.example.com"]


def test_check_url() -> None:
    for url in INSIDE:
        with pytest.raises(targets.ForbiddenTarget) as err:
            targets.check_url(url, allow_private=False)
        assert targets.ALLOW_VARIABLE in err.value.message, url
        assert targets.check_url(url, allow_private=True) == url
    for url in OUTSIDE:
        assert targets.check_url(url, allow_private=False) == url
    for url in ("ftp://example.com/x", "http:///nohost", "example.com/hook", "http://example.com:99999/",
                " http://example.com/", "http://example.com/a b", "http://exa_mple.com/", "http://[1:2]/",
                "http://example.com/\u00e9", "http://example.com/" + "a" * 2048):
        with pytest.raises(targets.ForbiddenTarget, match="URL"):
            targets.check_url(url, allow_private=True)


async def test_resolve_public_pins_the_checked_address() -> None:
    pinned = await targets.resolve_public("https://user@93.184.215.14:8443/a?b=1", allow_private=False)
    assert pinned == targets.Pinned("https://user@93.184.215.14:8443/a?b=1", host_header="93.184.215.14:8443")
    local = socket.gethostname()  # a name (passes check_url) that /etc/hosts maps inside this machine
    with pytest.raises(targets.ForbiddenTarget, match="resolves to a non-public address"):
        await targets.resolve_public(f"http://{local}:8080/hook", allow_private=False)
    assert (await targets.resolve_public("http://127.0.0.1/x", allow_private=True)).url == "http://127.0.0.1/x"


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with the default: private callback targets refused."""
    srv = make_server(tmp_path_factory.mktemp("strict"), extra_env={targets.ALLOW_VARIABLE: "false"})
    yield srv
    srv.stop()


def test_refused_wherever_a_url_is_set(strict: Server) -> None:
    key = strict.project.api_key
    url = f"{strict.url}/v2/project/{key}/callback"
    hdr = {"X-TB-PARTNER-AUTH": f"{key}:{strict.project.api_secret}"}
    for target in [*INSIDE[:6], "http://169.254.169.254/latest/meta-data", "http://[::1]:9/x"]:
        r = httpx.post(url, headers=hdr, json={"group": "archive", "event": "status", "url": target})
        assert r.status_code == 400, (target, r.text)
        assert "private" in r.json()["message"] and targets.ALLOW_VARIABLE in r.json()["message"]
    assert httpx.get(url, headers=hdr).json() == []
    ok = httpx.post(url, headers=hdr, json={"group": "archive", "event": "status", "url": OUTSIDE[0]})
    assert ok.status_code == 200 and ok.json()["url"] == OUTSIDE[0]

    done = strict.cli("projects", "set-callback", key, "http://10.1.2.3/hook", check=False)
    assert done.returncode == 2 and targets.ALLOW_VARIABLE in done.stderr
    assert strict.cli("projects", "set-callback", key, OUTSIDE[0]).returncode == 0

    env = strict.env | {"ARCHIVIST_CALLBACK_URL": "http://192.168.0.10/hook", "ARCHIVIST_PORT": str(free_port())}
    started = subprocess.run([*ARCHIVIST, "--data-dir", str(strict.data_dir), "serve"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 2
    assert "ARCHIVIST_CALLBACK_URL" in started.stderr and targets.ALLOW_VARIABLE in started.stderr


async def test_delivery_checks_the_resolved_address(tmp_path: Path) -> None:
    """A name that resolves inside (DNS rebinding does the same after registration) and a
    private URL stored before the rule existed: each attempt is refused, nothing is sent."""
    local = socket.gethostname()
    resolved = {ipaddress.ip_address(i[4][0]) for i in socket.getaddrinfo(local, 80, type=socket.SOCK_STREAM)}
    assert resolved and not any(targets.is_public(a) for a in resolved), f"{local} resolves to {resolved}"
    receiver = Receiver(free_port()).start()
    try:
        settings = fast_settings(tmp_path / "data", callback_allow_private=False)
        async with running_app(settings) as (svc, http):
            project = await svc.projects.create("ssrf")
            by_name = f"http://{local}:{receiver.port}/by-name"
            r = await http.post(f"/v2/project/{project.api_key}/callback", headers=auth(project),
                                json={"group": "archive", "event": "status", "url": by_name})
            assert r.status_code == 200, r.text
            await svc.projects.set_callback_url(project.api_key, receiver.url + "/stored-before")
            await finished_archive(svc, project)  # started, stopped: 2 events x 2 URLs

            async def failed() -> list[dict[str, object]]:
                log = (await http.get(f"/v2/project/{project.api_key}/webhooks/deliveries",
                                      params={"state": "failed"}, headers=auth(project))).json()
                return log["items"] if log["count"] == 4 else []

            items = await wait_for(failed, what="every delivery refused")
            for item in items:
                attempts = item["log"]
                assert isinstance(attempts, list) and len(attempts) == 1  # given up at once
                assert attempts[0]["statusCode"] is None and "refused" in attempts[0]["error"]
        assert receiver.received == []
    finally:
        receiver.stop()
