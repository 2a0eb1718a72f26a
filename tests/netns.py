"""Real networks for tests: Linux network namespaces, veth links, a bridge as "the internet",
nftables for NAT and firewalls. Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); every namespace a
:class:`Network` makes is removed by :meth:`Network.close` (fixtures call it even when the test
fails), and names carry the pid so a crashed run neither blocks the next one nor stays around
(:func:`remove_stale` deletes namespaces of dead runs).

Code runs in a namespace as a process (``ip netns exec NS …``: the server, coturn, Chromium) or,
for the Python client, in a thread that entered the namespace (:func:`run_in`): sockets a thread
opens belong to its namespace, and threads it starts (asyncio's executor) inherit it.
"""

from __future__ import annotations

import asyncio
import ctypes
import http.server
import itertools
import os
import re
import subprocess
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PREFIX = "arch"
CLONE_NEWNET = 0x40000000
_counter = itertools.count(1)
_libc = ctypes.CDLL(None, use_errno=True)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def unavailable() -> str:
    """Why network namespaces cannot be used here ('' if they can): tries to make one."""
    import shutil

    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (scripts/setup-system test installs iproute2 and nftables)"
    if os.geteuid() != 0:
        return "not root: network namespaces need CAP_NET_ADMIN and CAP_SYS_ADMIN (run the suite as root)"
    probe = f"{PREFIX}-{os.getpid()}-probe"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    try:
        nft = subprocess.run(
            ["ip", "netns", "exec", probe, "nft", "add table ip probe"], capture_output=True, text=True, timeout=30
        )
        if nft.returncode != 0:
            return f"nftables does not work in a namespace: {nft.stderr.strip()}"
    finally:
        _ip("netns", "del", probe, check=False)
    return ""


def remove_stale() -> None:
    """Delete namespaces left by test runs whose process is gone."""
    listed = _ip("netns", "list", check=False).stdout
    for line in listed.splitlines():
        name = line.split()[0] if line.strip() else ""
        match = re.fullmatch(rf"{PREFIX}-(\d+)-.+", name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            _ip("netns", "del", name, check=False)


def _enter(name: str) -> None:
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


def call_in(name: str, fn: Callable[[], T]) -> T:
    """``fn()`` in a new thread inside namespace ``name``; returns its result or raises."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            _enter(name)
            out["value"] = fn()
        except BaseException as exc:  # handed to the caller
            out["error"] = exc

    thread = threading.Thread(target=target, name=f"netns {name}", daemon=True)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    value: T = out["value"]
    return value


async def run_in(name: str, coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``coro_fn()`` on its own event loop in a thread inside namespace ``name``."""

    def run() -> T:
        async def main() -> T:
            return await coro_fn()

        return asyncio.run(main())

    return await asyncio.to_thread(call_in, name, run)


@dataclass
class Namespace:
    name: str
    addresses: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        """The first address given to this namespace (without prefix length)."""
        return self.addresses[0]

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def run(self, *cmd: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.exec_prefix(), *cmd], capture_output=True, text=True, timeout=60, input=input
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} in {self.name} failed: {result.stderr.strip()}")
        return result

    def nft(self, ruleset: str) -> None:
        self.run("nft", "-f", "-", input=ruleset)

    def call(self, fn: Callable[[], T]) -> T:
        return call_in(self.name, fn)

    def serve_http(self, handler: type[http.server.BaseHTTPRequestHandler]) -> tuple[int, Callable[[], None]]:
        """An HTTP server on this namespace's 127.0.0.1 (a page a browser in it may treat as a
        secure origin: ``http://localhost``). Returns its port and a function that stops it."""
        ready: dict[str, Any] = {}
        started = threading.Event()

        def serve() -> None:
            try:
                _enter(self.name)
                httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
                httpd.daemon_threads = True
                ready["httpd"] = httpd
            except BaseException as exc:
                ready["error"] = exc
                return
            finally:
                started.set()
            httpd.serve_forever()

        thread = threading.Thread(target=serve, name=f"http in {self.name}", daemon=True)
        thread.start()
        started.wait(10)
        if "error" in ready:
            raise ready["error"]
        httpd = ready["httpd"]

        def stop() -> None:
            httpd.shutdown()
            httpd.server_close()
            thread.join(10)

        return int(httpd.server_address[1]), stop

    async def run_async(self, coro_fn: Callable[[], Awaitable[T]]) -> T:
        return await run_in(self.name, coro_fn)


class Network:
    """The namespaces of one test. ``internet()`` is a bridge every public host is attached to
    (203.0.113.0/24, TEST-NET-3); sites behind a router are linked to it by point-to-point veths."""

    PUBLIC = "203.0.113.0/24"

    def __init__(self) -> None:
        self.id = f"{PREFIX}-{os.getpid()}-{next(_counter)}"
        self.namespaces: list[Namespace] = []
        self._inet: Namespace | None = None
        self._links = itertools.count(1)
        self.closed = False

    def namespace(self, role: str) -> Namespace:
        ns = Namespace(f"{self.id}-{role}")
        _ip("netns", "add", ns.name)
        self.namespaces.append(ns)
        ns.run("ip", "link", "set", "lo", "up")
        return ns

    def link(self, a: Namespace, a_ip: str, b: Namespace, b_ip: str | None) -> tuple[str, str]:
        """A veth pair between ``a`` and ``b`` with the given CIDR addresses (``b_ip`` None:
        no address, e.g. a bridge port). Returns the interface names (in a, in b)."""
        n = next(self._links)
        a_if, b_if = f"v{n}a", f"v{n}b"
        _ip("link", "add", a_if, "netns", a.name, "type", "veth", "peer", "name", b_if, "netns", b.name)
        for ns, ifname, cidr in ((a, a_if, a_ip), (b, b_if, b_ip)):
            if cidr:
                ns.run("ip", "addr", "add", cidr, "dev", ifname)
                ns.addresses.append(cidr.split("/")[0])
            ns.run("ip", "link", "set", ifname, "up")
        return a_if, b_if

    def internet(self) -> Namespace:
        if self._inet is None:
            self._inet = self.namespace("inet")
            self._inet.run("ip", "link", "add", "br0", "type", "bridge")
            self._inet.run("ip", "link", "set", "br0", "up")
        return self._inet

    def public_host(self, role: str, address: str) -> tuple[Namespace, str]:
        """A namespace on the internet with ``address`` (in 203.0.113.0/24). Returns it and its
        internet interface's name."""
        ns = self.namespace(role)
        inet = self.internet()
        ifname, port = self.link(ns, f"{address}/24", inet, None)
        inet.run("ip", "link", "set", port, "master", "br0")
        return ns, ifname

    def site_behind_router(
        self, role: str, public: str, lan: str, host: str
    ) -> tuple[Namespace, Namespace, str, str]:
        """A host ``role`` at ``host`` (CIDR, e.g. 10.77.1.2/24) behind a router ``role-rtr``
        whose internet address is ``public`` and LAN address ``lan`` (CIDR). The router
        forwards; NAT and firewall rules are the caller's (:meth:`Namespace.nft`).
        Returns (host, router, router's internet interface, router's LAN interface)."""
        router, wan = self.public_host(f"{role}-rtr", public)
        router.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
        ns = self.namespace(role)
        lan_if, _ = self.link(router, lan, ns, host)
        ns.run("ip", "route", "add", "default", "via", lan.split("/")[0])
        return ns, router, wan, lan_if

    def close(self) -> None:
        """Remove every namespace (their veths go with them). Idempotent."""
        if self.closed:
            return
        self.closed = True
        for ns in reversed(self.namespaces):
            _ip("netns", "del", ns.name, check=False)


def ns_popen(ns: Namespace, cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*ns.exec_prefix(), *cmd], **kwargs)
