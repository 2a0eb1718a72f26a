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
    table = run(tmp_path, "projects", "list").stdout.splitlines()
    assert table[0].split() == ["API", "KEY", "NAME"] and table[2].split() == [made["apiKey"], "acme"]
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


# ---- archivist archives list | start | stop | download, against a running server -----------------


async def test_archives_commands(tmp_path: Path) -> None:
    import asyncio

    from opentok import Client, MediaModes

    from archivist.client import ArchivistClient
    from tests.servers import make_server

    server = make_server(tmp_path / "srv")

    async def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        def call() -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "archivist.cli", "--data-dir", str(server.data_dir), *args],
                                  env=server.env | (env or {}), capture_output=True, text=True, timeout=60)

        return await asyncio.to_thread(call)

    try:
        ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url)
        sid = ot.create_session(media_mode=MediaModes.routed).session_id
        client = await ArchivistClient.open(server.url, server.project.api_key, sid, ot.generate_token(sid))
        await client.publish(name="cli")
        try:
            # no --url and no credentials: this machine's server (ARCHIVIST_PORT) and its first project
            started = await cli("archives", "start", sid, "--name", "from the cli", "--json")
            assert started.returncode == 0, started.stderr
            archive = json.loads(started.stdout)
            assert archive["status"] == "started" and archive["name"] == "from the cli"
            await asyncio.sleep(2)
            stopped = await cli("archives", "stop", archive["id"])
            assert stopped.returncode == 0, stopped.stderr
            assert stopped.stdout.split() == [archive["id"], "stopped"]
            again = await cli("archives", "stop", archive["id"])
            assert again.returncode == 1 and again.stderr.startswith("error:"), again.stderr
        finally:
            await client.close()

        # explicit --url and credentials from the environment
        creds = {"API_KEY": server.project.api_key, "API_SECRET": server.project.api_secret}
        for _ in range(60):
            listed = await cli("archives", "list", "--json", "--url", server.url, env=creds)
            assert listed.returncode == 0, listed.stderr
            body = json.loads(listed.stdout)
            if body["items"][0]["status"] not in ("started", "stopped"):
                break
            await asyncio.sleep(0.5)
        assert body["count"] == 1 and body["items"][0]["id"] == archive["id"]
        assert body["items"][0]["status"] == "available", body
        table = await cli("archives", "list", "--session-id", sid)
        assert archive["id"] in table.stdout and "available" in table.stdout and "from the cli" in table.stdout
        other_sid = ot.create_session(media_mode=MediaModes.routed).session_id
        other = await cli("archives", "list", "--session-id", other_sid)
        assert other.stdout.strip() == "no archives"

        target = tmp_path / "out" / "rec.mp4"
        target.parent.mkdir()
        fetched = await cli("archives", "download", archive["id"], "-o", str(target))
        assert fetched.returncode == 0, fetched.stderr
        assert fetched.stdout.strip() == str(target)
        assert target.stat().st_size == body["items"][0]["size"] > 0
        assert target.read_bytes()[4:8] == b"ftyp"
        assert "100%" in fetched.stderr and "━" in fetched.stderr and "rec.mp4" in fetched.stderr  # rich's bar
        assert not (tmp_path / "out" / "rec.mp4.part").exists()

        # errors: plain messages and a non-zero status, never a traceback
        missing = await cli("archives", "download", "0c7a1f0e-1111-4222-8333-944455556666", "-o", str(target))
        assert missing.returncode == 1 and "not found" in missing.stderr.lower(), missing.stderr
        wrong = await cli("archives", "list", "--api-key", server.project.api_key, "--api-secret", "y" * 40)
        assert wrong.returncode == 1 and "refused the API key" in wrong.stderr
        nowhere = await cli("archives", "list", "--url", f"http://127.0.0.1:{free_port()}")
        assert nowhere.returncode == 1 and "cannot reach" in nowhere.stderr
        half = await cli("archives", "list", "--api-key", "123")
        assert half.returncode == 2 and "both" in half.stderr
        for res in (again, missing, wrong, nowhere, half):
            assert "Traceback" not in res.stderr
    finally:
        server.stop()
    empty = run(tmp_path / "empty", "archives", "list")
    assert empty.returncode == 2 and "no credentials" in empty.stderr
    assert not (tmp_path / "empty" / "archivist.db").exists()
