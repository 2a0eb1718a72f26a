"""``archivist archives list | start | stop | download``: operators' commands over the REST API.

They talk to a running server exactly as an app would, through the official ``opentok`` SDK
(and a plain HTTP GET of the archive's URL for downloads). The server is ``--url`` (default
``$ARCHIVIST_PUBLIC_URL`` or ``http://127.0.0.1:<port>``); the credentials are ``--api-key`` /
``--api-secret``, else ``$API_KEY`` / ``$API_SECRET``, else the first project in this machine's
data directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from archivist import config
from archivist.cli_output import download_progress, print_table

T = TypeVar("T")


class CommandError(Exception):
    """Printed as ``error: …``; exit status 1 (2 for usage problems)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def add_parser(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="the server (default $ARCHIVIST_PUBLIC_URL or http://127.0.0.1:<port>)")
    common.add_argument("--api-key", help="project API key (default $API_KEY, else the first local project)")
    common.add_argument("--api-secret", help="project API secret (default $API_SECRET)")
    common.add_argument("--json", action="store_true", help="print JSON")

    archives = sub.add_parser("archives", help="list, start, stop and download archives of a running server")
    asub = archives.add_subparsers(dest="action", required=True)
    lst = asub.add_parser("list", parents=[common], help="list archives, newest first")
    lst.add_argument("--session-id", help="only this session's archives")
    lst.add_argument("--offset", type=int, default=0)
    lst.add_argument("--count", type=int, default=50, help="at most this many (default 50, max 1000)")
    start = asub.add_parser("start", parents=[common], help="start recording a session")
    start.add_argument("session_id")
    start.add_argument("--name", help="the archive's name")
    stop = asub.add_parser("stop", parents=[common], help="stop a recording")
    stop.add_argument("archive_id")
    download = asub.add_parser("download", parents=[common], help="download an available archive's MP4")
    download.add_argument("archive_id")
    download.add_argument("-o", "--output", help="file to write (default <archive id>.mp4)")
    archives.set_defaults(func=cmd_archives)


def cmd_archives(args: argparse.Namespace, settings: config.Settings) -> int:
    try:
        client = _client(args, settings)
        actions: dict[str, Callable[[Any, argparse.Namespace], None]] = {
            "list": _list,
            "start": _start,
            "stop": _stop,
            "download": _download,
        }
        actions[args.action](client, args)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    return 0


# ---- the SDK client --------------------------------------------------------------------------
def _credentials(args: argparse.Namespace, settings: config.Settings) -> tuple[str, str]:
    key = args.api_key or os.environ.get("API_KEY", "").strip()
    secret = args.api_secret or os.environ.get("API_SECRET", "").strip()
    if key and secret:
        return key, secret
    if key or secret:
        raise CommandError("give both the API key and the API secret", 2)
    if not settings.database_url and not (settings.data_dir / "archivist.db").exists():
        raise CommandError(
            "no credentials: pass --api-key and --api-secret, set API_KEY and API_SECRET, or run this on the "
            f"server's machine (no database in {settings.data_dir}; see --data-dir)",
            2,
        )

    async def first_project() -> tuple[str, str] | None:
        from archivist.store.db import open_database
        from archivist.store.projects import ProjectRepository

        engine = await open_database(settings.db_url)
        try:
            projects = await ProjectRepository(engine).all()
        finally:
            await engine.dispose()
        return (projects[0].api_key, projects[0].api_secret) if projects else None

    found = asyncio.run(first_project())
    if found is None:
        raise CommandError("no project in the local database: create one with 'archivist projects create'", 2)
    return found


def _server_url(args: argparse.Namespace, settings: config.Settings) -> str:
    url = args.url or settings.public_url or f"http://127.0.0.1:{settings.port}"
    if not url.startswith(("http://", "https://")):
        raise CommandError(f"--url must be an http(s) URL, not {url!r}", 2)
    return str(url).rstrip("/")


class _Client:
    def __init__(self, url: str, api_key: str, api_secret: str) -> None:
        from opentok import Client

        self.url = url
        self.ot = Client(api_key, api_secret, api_url=url, timeout=30)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        import requests
        from opentok import exceptions as ot_errors

        try:
            return fn(*args, **kwargs)
        except ot_errors.AuthError:
            raise CommandError(f"the server at {self.url} refused the API key and secret") from None
        except ot_errors.OpenTokException as exc:
            raise CommandError(_sdk_message(exc)) from None
        except requests.RequestException:
            raise CommandError(f"cannot reach the server at {self.url} (is it running? see --url)") from None
        except ValueError:
            raise CommandError(f"{self.url} did not answer like an Archivist server") from None


def _client(args: argparse.Namespace, settings: config.Settings) -> _Client:
    key, secret = _credentials(args, settings)
    return _Client(_server_url(args, settings), key, secret)


def _sdk_message(exc: Exception) -> str:
    words = [a for a in exc.args if isinstance(a, str) and a.strip()]
    return words[0] if words else type(exc).__name__


# ---- the commands ----------------------------------------------------------------------------
def archive_json(archive: Any) -> dict[str, Any]:
    created = archive.created_at
    created_ms = int(created.timestamp() * 1000) if isinstance(created, datetime) else created
    return {
        "id": archive.id,
        "name": archive.name,
        "sessionId": archive.session_id,
        "status": archive.status,
        "createdAt": created_ms,
        "duration": archive.duration,
        "size": archive.size,
        "url": archive.url,
    }


def _created(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _list(client: _Client, args: argparse.Namespace) -> None:
    if args.offset < 0 or not 1 <= args.count <= 1000:
        raise CommandError("--offset must be >= 0 and --count between 1 and 1000", 2)
    listing = client.call(client.ot.list_archives, args.offset, args.count, args.session_id)
    items = [archive_json(a) for a in listing.items]
    if args.json:
        print(json.dumps({"count": listing.count, "items": items}))
        return
    if not items:
        print("no archives")
        return
    print_table(
        ("ID", "STATUS", "CREATED (UTC)", "DURATION", "SIZE", "NAME"),
        ((a["id"], a["status"], _created(a["createdAt"]), f"{a['duration'] or 0}s", _size(a["size"] or 0),
          a["name"] or "") for a in items),
        right=("DURATION", "SIZE"),
    )
    shown_to = args.offset + len(items)
    if listing.count > shown_to or args.offset:
        print(f"({args.offset + 1}-{shown_to} of {listing.count}; see --offset and --count)")


def _start(client: _Client, args: argparse.Namespace) -> None:
    archive = client.call(client.ot.start_archive, args.session_id, name=args.name)
    _print_one(archive, args.json)


def _stop(client: _Client, args: argparse.Namespace) -> None:
    archive = client.call(client.ot.stop_archive, args.archive_id)
    _print_one(archive, args.json)


def _print_one(archive: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(archive_json(archive)))
    else:
        print(f"{archive.id}\t{archive.status}")


def _download(client: _Client, args: argparse.Namespace) -> None:
    archive = client.call(client.ot.get_archive, args.archive_id)
    if not archive.url:
        raise CommandError(f"archive {archive.id} has no file to download (status: {archive.status})")
    target = Path(args.output or f"{archive.id}.mp4")
    partial = target.with_name(target.name + ".part")
    expected = int(archive.size or 0)
    written = 0
    try:
        with httpx.stream("GET", archive.url, timeout=60, follow_redirects=True) as response:
            if response.status_code != 200:
                raise CommandError(f"the download failed: HTTP {response.status_code} from {_no_query(archive.url)}")
            total = int(response.headers.get("content-length") or expected or 0)
            with download_progress(target.name, total) as progress, open(partial, "wb") as out:
                for chunk in response.iter_bytes(1 << 16):
                    out.write(chunk)
                    written += len(chunk)
                    progress.update(written)
    except httpx.HTTPError as exc:
        partial.unlink(missing_ok=True)
        raise CommandError(f"the download failed: {type(exc).__name__}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if expected and written != expected:
        partial.unlink(missing_ok=True)
        raise CommandError(f"the download is incomplete: {written} of {expected} bytes")
    partial.replace(target)
    if args.json:
        print(json.dumps({"id": archive.id, "path": str(target), "size": written}))
    else:
        print(target)


def _no_query(url: str) -> str:
    return url.split("?", 1)[0]  # a signed URL's query is a credential: never print it


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"

