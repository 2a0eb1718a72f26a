"""``archivist projects set-callback`` and ``archivist webhooks deliveries | retry``.

They work on the data directory's database directly (the server need not run): the callback
URL is read at each status change, and a retried delivery is picked up by the running server's
next poll.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from archivist import config
from archivist.store.db import open_database
from archivist.store.outbox import DELIVERED, FAILED, PENDING, Delivery, OutboxRepository
from archivist.store.projects import ProjectRepository
from archivist.webhooks import targets

T = TypeVar("T")


def run_db(settings: config.Settings, fn: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = await open_database(settings.db_url)
        try:
            return await fn(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def add_project_commands(psub: Any) -> None:
    cb = psub.add_parser("set-callback", help="set (or --clear) a project's status callback URL")
    cb.add_argument("api_key")
    cb.add_argument("url", nargs="?", help="http(s) URL that receives every archive status change")
    cb.add_argument("--clear", action="store_true", help="remove the project's callback URL")
    cb.set_defaults(func=cmd_set_callback)


def add_parser(sub: Any) -> None:
    hooks = sub.add_parser("webhooks", help="status callback deliveries (the delivery log)")
    hsub = hooks.add_subparsers(dest="action", required=True)
    lst = hsub.add_parser("deliveries", help="list deliveries, newest first, with every attempt")
    lst.add_argument("--project", help="only this project (API key)")
    lst.add_argument("--archive", help="only this archive id")
    lst.add_argument("--state", choices=(PENDING, DELIVERED, FAILED))
    lst.add_argument("--limit", type=int, default=50)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_deliveries)
    retry = hsub.add_parser("retry", help="queue a given-up (failed) delivery again")
    retry.add_argument("delivery_id")
    retry.set_defaults(func=cmd_retry)


def cmd_set_callback(args: argparse.Namespace, settings: config.Settings) -> int:
    url: str | None = None
    if not args.clear:
        if not args.url:
            print("error: give a complete http(s) URL, or --clear", file=sys.stderr)
            return 2
        try:
            url = targets.check_url(args.url, allow_private=settings.callback_allow_private)
        except targets.ForbiddenTarget as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2

    async def go(engine: AsyncEngine) -> bool:
        repo = ProjectRepository(engine)
        if await repo.get(args.api_key) is None:
            return False
        await repo.set_callback_url(args.api_key, url)
        return True

    if not run_db(settings, go):
        print(f"error: no project {args.api_key}", file=sys.stderr)
        return 1
    print(f"project {args.api_key}: callback URL {'cleared' if url is None else url}")
    return 0


def _when(ms: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) if ms else "-"


def _print(d: Delivery) -> None:
    print(f"{d.id}  {_when(d.created_at)}  archive {d.archive_id} #{d.seq} {d.archive_status:<9} "
          f"-> {d.url}  [{d.state}, {d.attempts} attempt{'s' if d.attempts != 1 else ''}]")
    for a in d.log:
        outcome = f"HTTP {a.status_code}" if a.status_code is not None else "no response"
        print(f"    #{a.attempt} {_when(a.attempted_at)}  {outcome}  {a.duration_ms} ms"
              f"{'  ' + a.error if a.error else ''}")
    if d.state == PENDING:
        print(f"    next attempt {_when(d.next_attempt_at)}")


def cmd_deliveries(args: argparse.Namespace, settings: config.Settings) -> int:
    async def go(engine: AsyncEngine) -> list[Delivery]:
        return await OutboxRepository(engine).listing(
            project_key=args.project, archive_id=args.archive, state=args.state, limit=max(1, args.limit)
        )

    items = run_db(settings, go)
    if args.json:
        out: list[dict[str, Any]] = [d.to_json() | {"projectKey": d.project_key} for d in items]
        print(json.dumps(out))
    else:
        for d in items:
            _print(d)
    return 0


def cmd_retry(args: argparse.Namespace, settings: config.Settings) -> int:
    async def go(engine: AsyncEngine) -> bool:
        return await OutboxRepository(engine).retry(args.delivery_id)

    if not run_db(settings, go):
        print(f"error: no given-up delivery {args.delivery_id}", file=sys.stderr)
        return 1
    print(f"delivery {args.delivery_id} queued again")
    return 0
