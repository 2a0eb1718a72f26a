"""The hand-written migrations Archivist used before Alembic, frozen as they were released.

``tests/store/test_migrations.py`` makes a database with them (what every installation made
before) and checks that the Alembic upgrade takes it over cleanly. Never edit this file.
"""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "projects, sessions, archives, callbacks",
        [
            """CREATE TABLE projects (
                api_key TEXT PRIMARY KEY,
                api_secret TEXT NOT NULL,
                name TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                callback_url TEXT NULL
            )""",
            """CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                project_key TEXT NOT NULL REFERENCES projects(api_key),
                media_mode TEXT NOT NULL,
                archive_mode TEXT NOT NULL,
                location TEXT NULL,
                e2ee BOOLEAN NOT NULL,
                archive_name TEXT NULL,
                archive_resolution TEXT NULL,
                created_at BIGINT NOT NULL
            )""",
            "CREATE INDEX ix_sessions_project ON sessions (project_key)",
            """CREATE TABLE archives (
                id TEXT PRIMARY KEY,
                project_key TEXT NOT NULL REFERENCES projects(api_key),
                session_id TEXT NOT NULL,
                name TEXT NULL,
                status TEXT NOT NULL,
                reason TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                duration INTEGER NOT NULL,
                size BIGINT NOT NULL,
                has_audio BOOLEAN NOT NULL,
                has_video BOOLEAN NOT NULL,
                output_mode TEXT NOT NULL,
                stream_mode TEXT NOT NULL,
                resolution TEXT NULL,
                layout TEXT NULL,
                max_bitrate INTEGER NULL,
                quantization_parameter INTEGER NULL,
                multi_archive_tag TEXT NULL,
                storage_key TEXT NULL,
                sha256 TEXT NULL,
                seq BIGINT NOT NULL
            )""",
            "CREATE INDEX ix_archives_project_seq ON archives (project_key, seq)",
            "CREATE INDEX ix_archives_session ON archives (session_id)",
            # one running archive per session (and archive tag): enforced by the database, so two
            # concurrent starts, even on two nodes, cannot both win
            """CREATE UNIQUE INDEX ux_archives_running ON archives (session_id, COALESCE(multi_archive_tag, ''))
                WHERE status IN ('started', 'paused')""",
            """CREATE TABLE callbacks (
                id TEXT PRIMARY KEY,
                project_key TEXT NOT NULL REFERENCES projects(api_key),
                "group" TEXT NOT NULL,
                event TEXT NOT NULL,
                url TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )""",
            "CREATE INDEX ix_callbacks_project ON callbacks (project_key)",
        ],
    ),
    (
        2,
        "storage targets, archive files, webhook outbox and delivery log",
        [
            # a project's storage configuration; a change adds a row (the newest one is current),
            # so archives stored under an older configuration can still be fetched and deleted
            """CREATE TABLE storage_targets (
                id TEXT PRIMARY KEY,
                project_key TEXT NOT NULL REFERENCES projects(api_key),
                backend TEXT NOT NULL,
                bucket TEXT NULL,
                endpoint_url TEXT NULL,
                region TEXT NULL,
                access_key_id TEXT NULL,
                secret_access_key TEXT NULL,
                prefix TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )""",
            "CREATE INDEX ix_storage_targets_project ON storage_targets (project_key, created_at)",
            # where an archive's file lives and what remains to be done with it (upload, removal)
            """CREATE TABLE archive_files (
                archive_id TEXT PRIMARY KEY,
                project_key TEXT NOT NULL,
                local_key TEXT NOT NULL,
                target_id TEXT NULL,
                object_key TEXT NULL,
                state TEXT NOT NULL,
                local_copy BOOLEAN NOT NULL,
                duration INTEGER NOT NULL,
                size BIGINT NOT NULL,
                sha256 TEXT NULL,
                stop_reason TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                last_error TEXT NULL,
                next_attempt_at BIGINT NULL,
                lease_until BIGINT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )""",
            "CREATE INDEX ix_archive_files_due ON archive_files (state, next_attempt_at)",
            # one row per (status change, callback URL), written in the status change's transaction
            """CREATE TABLE webhook_outbox (
                id TEXT PRIMARY KEY,
                event_id TEXT NOT NULL,
                project_key TEXT NOT NULL,
                archive_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                url TEXT NOT NULL,
                source TEXT NOT NULL,
                archive_status TEXT NOT NULL,
                payload TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                lease_until BIGINT NULL,
                last_status_code INTEGER NULL,
                last_error TEXT NULL,
                created_at BIGINT NOT NULL,
                delivered_at BIGINT NULL
            )""",
            "CREATE UNIQUE INDEX ux_webhook_outbox_order ON webhook_outbox (archive_id, url, seq)",
            "CREATE INDEX ix_webhook_outbox_due ON webhook_outbox (state, next_attempt_at)",
            "CREATE INDEX ix_webhook_outbox_project ON webhook_outbox (project_key, created_at)",
            """CREATE TABLE webhook_attempts (
                delivery_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                attempted_at BIGINT NOT NULL,
                status_code INTEGER NULL,
                error TEXT NULL,
                duration_ms INTEGER NOT NULL,
                PRIMARY KEY (delivery_id, attempt)
            )""",
        ],
    ),
]


async def current_version(conn: AsyncConnection) -> int:
    def _has_table(sync_conn: object) -> bool:
        from sqlalchemy import inspect

        return bool(inspect(sync_conn).has_table("schema_version"))

    if not await conn.run_sync(_has_table):
        return 0
    row = (await conn.execute(text("SELECT MAX(version) FROM schema_version"))).first()
    return int(row[0]) if row and row[0] is not None else 0


async def migrate(engine: AsyncEngine) -> int:
    """Bring the database to the newest version; return that version."""
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)")
        )
    async with engine.connect() as conn:
        have = await current_version(conn)
    for version, _title, statements in MIGRATIONS:
        if version <= have:
            continue
        async with engine.begin() as conn:
            for stmt in statements:
                await conn.execute(text(stmt))
            await conn.execute(
                text("INSERT INTO schema_version (version, applied_at) VALUES (:v, :t)"),
                {"v": version, "t": int(time.time() * 1000)},
            )
        have = version
    return have
