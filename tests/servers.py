"""Real processes for tests: the Archivist server (``archivist serve``) and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
ARCHIVIST = [sys.executable, "-m", "archivist.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_udp_range(size: int) -> tuple[int, int]:
    """``size`` consecutive UDP ports free right now on every address (first, last)."""
    import random

    for _ in range(200):
        low = random.randrange(20000, 32000 - size)
        socks = []
        try:
            for port in range(low, low + size):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("0.0.0.0", port))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        return low, low + size - 1
    raise RuntimeError(f"no {size} consecutive free UDP ports")


def udp_sockets(pid: int, netns: str | None = None) -> list[tuple[str, int]]:
    """Every UDP socket (local address, port) of process ``pid``, as ``ss -uanp`` lists them."""
    prefix = ["ip", "netns", "exec", netns] if netns else []
    out = subprocess.run([*prefix, "ss", "-uanpH"], capture_output=True, text=True, check=True, timeout=20).stdout
    found = []
    for line in out.splitlines():
        if f"pid={pid}," not in line:
            continue
        local = line.split()[3]  # State Recv-Q Send-Q Local Peer Process
        host, _, port = local.rpartition(":")
        found.append((host.strip("[]").split("%")[0], int(port)))
    return found


def host_address() -> str:
    """The machine's own non-loopback IPv4 address (WebRTC ICE skips loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.254", 9))  # no packet is sent: UDP connect only picks a route
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


@dataclass
class Project:
    api_key: str
    api_secret: str


@dataclass
class Server:
    url: str
    data_dir: Path
    env: dict[str, str]
    project: Project
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    extra_projects: list[Project] = field(default_factory=list)
    netns: str | None = None
    """The network namespace the server runs in (tests/netns.py); None: this machine's."""
    verify: str | bool = True
    """CA file (or False) for HTTPS health checks of a server with TLS."""
    serve_args: list[str] = field(default_factory=list)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*ARCHIVIST, "--data-dir", str(self.data_dir), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def create_project(self, name: str = "other") -> Project:
        out = json.loads(self.cli("projects", "create", "--name", name, "--json").stdout)
        project = Project(out["apiKey"], out["apiSecret"])
        self.extra_projects.append(project)
        return project

    def start(self) -> None:
        assert self.log_path is not None
        log = open(self.log_path, "ab")
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []  # exec: proc.pid is the server
        self.proc = subprocess.Popen(
            [*prefix, *ARCHIVIST, "--data-dir", str(self.data_dir), "serve", *self.serve_args],
            env=self.env, stdout=log, stderr=log,
        )

        # in a namespace, the server's own loopback (its public URL may be a NAT's address)
        probe = f"http://127.0.0.1:{self.env['ARCHIVIST_PORT']}" if self.netns else self.url

        verify = ssl.create_default_context(cafile=self.verify) if isinstance(self.verify, str) else self.verify

        def healthy() -> bool:
            try:
                return httpx.get(probe + "/openapi.json", timeout=1, verify=verify).status_code == 200
            except httpx.HTTPError:
                return False

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            if self.netns:
                from tests.netns import call_in

                up = call_in(self.netns, healthy)
            else:
                up = healthy()
            if up:
                return
            time.sleep(0.1)
        raise RuntimeError("server did not start in 30 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def logs(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def archive_file(self, archive_id: str) -> Path:
        """Where the server's recorder writes an archive of the test project."""
        return self.data_dir / "archives" / self.project.api_key / f"{archive_id}.mp4"

    def archive_json(self, archive_id: str) -> dict[str, Any]:
        """The archive as today's API shows it (the SDK's Archive object drops ``reason``)."""
        key, secret = self.project.api_key, self.project.api_secret
        r = httpx.get(f"{self.url}/v2/project/{key}/archive/{archive_id}",
                      headers={"X-TB-PARTNER-AUTH": f"{key}:{secret}"})
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body


async def wait_status(ot: Any, archive_id: str, statuses: tuple[str, ...], timeout: float = 10) -> Any:
    """Poll an archive through the SDK (``ot``, an ``opentok.Client``) until it has one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        archive = await asyncio.to_thread(ot.get_archive, archive_id)
        if archive.status in statuses:
            return archive
        if time.monotonic() > deadline:
            raise AssertionError(f"archive {archive_id} still {archive.status} after {timeout} s")
        await asyncio.sleep(0.05)


def make_server(
    tmp: Path,
    database_url: str = "",
    extra_env: dict[str, str] | None = None,
    *,
    netns: str | None = None,
    url: str | None = None,
    verify: str | bool = True,
    serve_args: list[str] | None = None,
) -> Server:
    """A server with a fresh data directory and one project, started. In a namespace
    (``netns``), ``url`` is how clients reach it (``{port}`` is replaced by its port)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVIST_")}
    env.update(
        ARCHIVIST_HOST="0.0.0.0",
        ARCHIVIST_PORT=str(port),
        ARCHIVIST_LOG_LEVEL="INFO",
        ARCHIVIST_CALLBACK_ALLOW_PRIVATE="true",  # the tests' callback receivers are on this machine
        # an archive stops as its last client leaves (the 2013 spec; most tests assert it);
        # tests of the paused state set their own timeout
        ARCHIVIST_ARCHIVE_IDLE_TIMEOUT="0",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["ARCHIVIST_DATABASE_URL"] = database_url
    env.update(extra_env or {})
    env.pop("PORT", None)
    data_dir = tmp / "data"
    server = Server(
        url=(url or f"http://{host_address()}:{{port}}").format(port=port),
        data_dir=data_dir,
        env=env,
        project=Project("", ""),
        log_path=tmp / "server.log",
        netns=netns,
        verify=verify,
        serve_args=list(serve_args or []),
    )
    out = json.loads(server.cli("projects", "create", "--name", "test", "--json").stdout)
    server.project = Project(out["apiKey"], out["apiSecret"])
    server.start()
    return server


@dataclass
class Postgres:
    url: str
    sync_dsn: str
    data_dir: Path
    port: int

    def stop(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def new_database(self, prefix: str) -> str:
        """An empty database of its own on this server; returns its URL."""
        name = f"{prefix}_{os.urandom(4).hex()}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c",
                        f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=60)
        return self.url.rsplit("/", 1)[0] + "/" + name


def pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for version in ("17", "16", "15"):
        path = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
        if path.exists():
            return str(path)
    raise RuntimeError(f"PostgreSQL's {name} is not installed (scripts/test installs it)")


def start_postgres() -> Postgres:
    """initdb + pg_ctl a throw-away cluster as the postgres user, on a free port."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    base = Path(tempfile.mkdtemp(prefix="archivist-pg-"))
    data = base / "data"
    os.chmod(base, 0o777)
    port = free_port()
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*run_as, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True, timeout=120)
    subprocess.run(
        [*run_as, pg_ctl, "-D", str(data), "-l", str(base / "pg.log"), "-w", "-t", "60",
         "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
        check=True, capture_output=True, timeout=120,
    )
    subprocess.run(
        [*run_as, "psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", "CREATE DATABASE archivist"],
        check=True, capture_output=True, timeout=60,
    )
    return Postgres(
        url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/archivist",
        sync_dsn=f"postgresql://postgres@127.0.0.1:{port}/archivist",
        data_dir=data,
        port=port,
    )
