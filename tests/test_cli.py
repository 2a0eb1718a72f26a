"""The command line: projects create/list, serve on an empty data directory, PORT."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.servers import free_port


def run(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVIST_")}
    return subprocess.run([sys.executable, "-m", "archivist.cli", "--data-dir", str(data), *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_projects(tmp_path: Path) -> None:
    made = json.loads(run(tmp_path, "projects", "create", "--name", "acme", "--json").stdout)
    assert made["apiKey"].isdigit() and re.fullmatch(r"[a-z0-9]{40}", made["apiSecret"])
    assert not re.search(r"[.][A-Za-z0-9_]+$", made["apiSecret"])
    fixed = run(tmp_path, "projects", "create", "--api-key", "123456", "--api-secret", "s3cret-fixed", "--json")
    assert json.loads(fixed.stdout)["apiKey"] == "123456"
    listed = json.loads(run(tmp_path, "projects", "list", "--json").stdout)
    assert [p["name"] for p in listed] == ["acme", "project"]
    bad = run(tmp_path, "projects", "create", "--api-key", "abc")
    assert bad.returncode == 2 and "decimal" in bad.stderr
    keyfile_like = run(tmp_path, "projects", "create", "--api-secret", "s3cret.v2")
    assert keyfile_like.returncode == 2 and "key file" in keyfile_like.stderr
    assert "schema version" in run(tmp_path, "migrate").stdout


def test_serve_first_start_prints_a_project(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVIST_")} | {"PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "archivist.cli", "--data-dir", str(tmp_path / "d"), "serve"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Application startup complete" in line:
                break
        text = "".join(lines)
        key = re.search(r"API key:\s+(\d+)", text)
        secret = re.search(r"API secret:\s+([a-z0-9]+)", text)
        assert key and secret, text
        r = httpx.get(f"http://127.0.0.1:{port}/v2/project/{key.group(1)}/archive",
                      headers={"X-TB-PARTNER-AUTH": f"{key.group(1)}:{secret.group(1)}"})
        assert r.status_code == 200 and r.json() == {"count": 0, "items": []}
        assert (tmp_path / "d" / "archivist.db").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
