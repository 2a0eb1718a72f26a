"""A real TURN server for tests: Debian's coturn (``turnserver``) with the REST shared secret
(``--use-auth-secret``), UDP and TCP on one port, no TLS, its log on a file."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REALM = "archivist.test"


def unavailable() -> str:
    if shutil.which("turnserver") is None:
        return "coturn is not installed (scripts/setup-system test installs it)"
    return ""


@dataclass
class Coturn:
    ip: str
    port: int
    secret: str
    log_path: Path
    proc: subprocess.Popen[bytes]

    def urls(self, *transports: str) -> list[str]:
        return [f"turn:{self.ip}:{self.port}?transport={t}" for t in transports]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def allocations(self) -> list[str]:
        """coturn's lines for successful allocations (-v logs one per ALLOCATE)."""
        return [line for line in self.log().splitlines() if "ALLOCATE processed, success" in line]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_coturn(
    tmp: Path, ip: str, port: int, secret: str, *, relay_ports: tuple[int, int], netns: str | None = None
) -> Coturn:
    """``turnserver`` listening (UDP and TCP) and relaying on ``ip``; returns once it listens."""
    tmp.mkdir(parents=True, exist_ok=True)
    log_path = tmp / "coturn.log"
    prefix = ["ip", "netns", "exec", netns] if netns else []
    cmd = [
        *prefix, "turnserver", "-n", "-v",
        f"--listening-ip={ip}", f"--relay-ip={ip}", f"--listening-port={port}",
        f"--min-port={relay_ports[0]}", f"--max-port={relay_ports[1]}",
        "--use-auth-secret", f"--static-auth-secret={secret}", f"--realm={REALM}",
        "--no-tls", "--no-dtls", "--no-cli", "--fingerprint", "--simple-log", "--log-file=stdout",
        f"--pidfile={tmp / 'coturn.pid'}", f"--userdb={tmp / 'turndb'}",
    ]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    turn = Coturn(ip, port, secret, log_path, proc)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"coturn exited: {turn.log()[-2000:]}")
        text = turn.log()
        if f"UDP listener opened on: {ip}:{port}" in text and f"TCP listener opened on : {ip}:{port}" in text:
            return turn
        time.sleep(0.05)
    turn.stop()
    raise RuntimeError(f"coturn did not listen in 15 s: {turn.log()[-2000:]}")
