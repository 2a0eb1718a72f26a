"""Enqueue status callbacks: one outbox row per (status change, callback URL), transactionally.

:meth:`Outbox.enqueue` is a hook of ``ArchiveRepository`` (``store/archives.py``): it runs on the
connection of the status change, before its commit. The receivers of a project's events are
the spec's registry (``POST …/callback`` with group ``archive`` and event ``status``) plus the
project's own callback URL (``archivist projects set-callback``), or, when it has none, the
server-wide ``ARCHIVIST_CALLBACK_URL``. A URL named twice gets each event once.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from archivist.archives.model import Archive
from archivist.clock import now_ms
from archivist.store import outbox as rows
from archivist.webhooks.payloads import archive_event


class Outbox:
    def __init__(self, default_url: str = "") -> None:
        self._default_url = default_url.strip()

    async def targets(self, conn: AsyncConnection, project_key: str) -> list[tuple[str, str]]:
        """(url, source) pairs: ``callback:<id>`` (registry), ``project`` or ``config``."""
        registry, own = await rows.registered_targets(conn, project_key)
        found = [(url, f"callback:{cid}") for url, cid in registry]
        if own:
            found.append((own, "project"))
        elif self._default_url:
            found.append((self._default_url, "config"))
        unique: dict[str, str] = {}
        for url, source in found:
            unique.setdefault(url, source)
        return list(unique.items())

    async def enqueue(self, conn: AsyncConnection, archive: Archive) -> None:
        targets = await self.targets(conn, archive.project_key)
        if not targets:
            return
        seq = await rows.next_seq(conn, archive.id)
        event_id = str(uuid.uuid4())
        payload = json.dumps(archive_event(archive), separators=(",", ":"), ensure_ascii=False)
        now = now_ms()
        await rows.insert_events(
            conn,
            [
                {
                    "id": str(uuid.uuid4()),
                    "event_id": event_id,
                    "project_key": archive.project_key,
                    "archive_id": archive.id,
                    "seq": seq,
                    "url": url,
                    "source": source,
                    "archive_status": archive.status.value,
                    "payload": payload,
                    "state": rows.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "lease_until": None,
                    "last_status_code": None,
                    "last_error": None,
                    "created_at": now,
                    "delivered_at": None,
                }
                for url, source in targets
            ],
        )
