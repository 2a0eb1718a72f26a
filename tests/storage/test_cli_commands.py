"""Operator commands: projects set-storage / storage / set-callback, webhooks retry."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from archivist.cli import main
from archivist.store.db import open_database
from archivist.store.projects import ProjectRepository
from tests.servers import free_port


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """``main()`` configures logging onto this test's captured stderr: put it back afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


def _run(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _callback_url(data: Path, key: str) -> str | None:
    async def go() -> str | None:
        engine = await open_database(f"sqlite+aiosqlite:///{data / 'archivist.db'}")
        try:
            project = await ProjectRepository(engine).get(key)
            assert project is not None
            return project.callback_url
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_storage_and_callback_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    code, out, _ = _run(capsys, data, "projects", "create", "--name", "ops", "--json")
    key = json.loads(out)["apiKey"]

    code, out, _ = _run(capsys, data, "projects", "storage", key, "--json")
    assert code == 0 and json.loads(out)["backend"] == "default"
    code, _, err = _run(capsys, data, "projects", "set-storage", "99999999", "--local")
    assert code == 1 and "no project" in err
    code, _, err = _run(capsys, data, "projects", "set-storage", key, "--s3-bucket", "b", "--s3-access-key-id", "AK")
    assert code == 2 and "neither" in err
    monkeypatch.setenv("MY_S3_SECRET", "very-secret-value")
    closed = f"http://127.0.0.1:{free_port()}"
    code, _, err = _run(capsys, data, "projects", "set-storage", key, "--s3-bucket", "b", "--s3-endpoint-url", closed,
                        "--s3-access-key-id", "AK", "--s3-secret-access-key-env", "MY_S3_SECRET", "--check")
    assert code == 1 and "storage check failed" in err and "very-secret-value" not in err
    code, out, _ = _run(capsys, data, "projects", "storage", key, "--json")
    assert json.loads(out)["backend"] == "default"  # a failed check saves nothing
    code, out, _ = _run(capsys, data, "projects", "set-storage", key, "--s3-bucket", "b", "--s3-endpoint-url", closed,
                        "--s3-access-key-id", "AK", "--s3-secret-access-key-env", "MY_S3_SECRET")
    assert code == 0 and "very-secret-value" not in out
    code, out, _ = _run(capsys, data, "projects", "storage", key, "--json")
    shown = json.loads(out)
    assert shown["backend"] == "s3" and shown["bucket"] == "b" and shown["credentials"] == "explicit"
    assert "very-secret-value" not in out and "AK" not in out
    code, out, _ = _run(capsys, data, "projects", "set-storage", key, "--local")
    assert code == 0 and "backend=local" in out
    # Azure: a credential is needed, an account key needs its account; secrets never echo
    code, _, err = _run(capsys, data, "projects", "set-storage", key, "--azure-container", "c")
    assert code == 2 and "connection string, an account key or a SAS token" in err
    monkeypatch.setenv("MY_AZ_KEY", "very-secret-azure-key")
    code, _, err = _run(capsys, data, "projects", "set-storage", key, "--azure-container", "c",
                        "--azure-account-key-env", "MY_AZ_KEY")
    assert code == 2 and "--azure-account" in err
    code, _, err = _run(capsys, data, "projects", "set-storage", key, "--azure-container", "c",
                        "--azure-sas-token-env", "MY_AZ_KEY")
    assert code == 2 and "account URL" in err
    code, out, _ = _run(capsys, data, "projects", "set-storage", key, "--azure-container", "c",
                        "--azure-account", "acct", "--azure-account-key-env", "MY_AZ_KEY", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["backend"] == "azure" and shown["credentials"] == "account key"
    assert shown["accountName"] == "acct" and "very-secret-azure-key" not in out

    code, _, err = _run(capsys, data, "projects", "set-callback", key, "not-a-url")
    assert code == 2 and "http(s)" in err
    code, _, _ = _run(capsys, data, "projects", "set-callback", key, "https://app.example.com/events")
    assert code == 0 and _callback_url(data, key) == "https://app.example.com/events"
    code, _, _ = _run(capsys, data, "projects", "set-callback", key, "--clear")
    assert code == 0 and _callback_url(data, key) is None

    code, _, err = _run(capsys, data, "webhooks", "retry", "no-such-delivery")
    assert code == 1 and "no given-up delivery" in err
    code, out, _ = _run(capsys, data, "webhooks", "deliveries", "--json")
    assert code == 0 and json.loads(out) == []
