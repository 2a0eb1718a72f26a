"""The tables as the code queries them. Must match what the Alembic revisions create
(``store/alembic/versions``; ``tests/store/test_migrations.py`` reflects a migrated database
and compares)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, Table, Text

metadata = MetaData()

projects = Table(
    "projects",
    metadata,
    Column("api_key", Text, primary_key=True),
    Column("api_secret", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("callback_url", Text, nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("project_key", Text, nullable=False),
    Column("media_mode", Text, nullable=False),
    Column("archive_mode", Text, nullable=False),
    Column("location", Text, nullable=True),
    Column("e2ee", Boolean, nullable=False),
    Column("archive_name", Text, nullable=True),
    Column("archive_resolution", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

archives = Table(
    "archives",
    metadata,
    Column("id", Text, primary_key=True),
    Column("project_key", Text, nullable=False),
    Column("session_id", Text, nullable=False),
    Column("name", Text, nullable=True),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("duration", Integer, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("has_audio", Boolean, nullable=False),
    Column("has_video", Boolean, nullable=False),
    Column("output_mode", Text, nullable=False),
    Column("stream_mode", Text, nullable=False),
    Column("resolution", Text, nullable=True),
    Column("layout", Text, nullable=True),
    Column("max_bitrate", Integer, nullable=True),
    Column("quantization_parameter", Integer, nullable=True),
    Column("multi_archive_tag", Text, nullable=True),
    Column("storage_key", Text, nullable=True),
    Column("sha256", Text, nullable=True),
    Column("seq", BigInteger, nullable=False),
)

callbacks = Table(
    "callbacks",
    metadata,
    Column("id", Text, primary_key=True),
    Column("project_key", Text, nullable=False),
    Column("group", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

storage_targets = Table(
    "storage_targets",
    metadata,
    Column("id", Text, primary_key=True),
    Column("project_key", Text, nullable=False),
    Column("backend", Text, nullable=False),
    Column("bucket", Text, nullable=True),
    Column("endpoint_url", Text, nullable=True),
    Column("region", Text, nullable=True),
    Column("access_key_id", Text, nullable=True),
    Column("secret_access_key", Text, nullable=True),
    Column("prefix", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("connection_string", Text, nullable=True),
    Column("sas_token", Text, nullable=True),
)

archive_files = Table(
    "archive_files",
    metadata,
    Column("archive_id", Text, primary_key=True),
    Column("project_key", Text, nullable=False),
    Column("local_key", Text, nullable=False),
    Column("target_id", Text, nullable=True),
    Column("object_key", Text, nullable=True),
    Column("state", Text, nullable=False),
    Column("local_copy", Boolean, nullable=False),
    Column("duration", Integer, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", Text, nullable=True),
    Column("stop_reason", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("next_attempt_at", BigInteger, nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Text, primary_key=True),
    Column("event_id", Text, nullable=False),
    Column("project_key", Text, nullable=False),
    Column("archive_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("archive_status", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", Text, primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("attempted_at", BigInteger, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
)
