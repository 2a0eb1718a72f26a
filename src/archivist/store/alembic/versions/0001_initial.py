"""projects, sessions, archives, callbacks (the hand-written migration 1)

Revision ID: 0001
Revises:
Create Date: 2025-11-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("api_key", sa.Text, primary_key=True),
        sa.Column("api_secret", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("callback_url", sa.Text, nullable=True),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("project_key", sa.Text, sa.ForeignKey("projects.api_key"), nullable=False),
        sa.Column("media_mode", sa.Text, nullable=False),
        sa.Column("archive_mode", sa.Text, nullable=False),
        sa.Column("location", sa.Text, nullable=True),
        sa.Column("e2ee", sa.Boolean, nullable=False),
        sa.Column("archive_name", sa.Text, nullable=True),
        sa.Column("archive_resolution", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_sessions_project", "sessions", ["project_key"])
    op.create_table(
        "archives",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("project_key", sa.Text, sa.ForeignKey("projects.api_key"), nullable=False),
        sa.Column("session_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("duration", sa.Integer, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("has_audio", sa.Boolean, nullable=False),
        sa.Column("has_video", sa.Boolean, nullable=False),
        sa.Column("output_mode", sa.Text, nullable=False),
        sa.Column("stream_mode", sa.Text, nullable=False),
        sa.Column("resolution", sa.Text, nullable=True),
        sa.Column("layout", sa.Text, nullable=True),
        sa.Column("max_bitrate", sa.Integer, nullable=True),
        sa.Column("quantization_parameter", sa.Integer, nullable=True),
        sa.Column("multi_archive_tag", sa.Text, nullable=True),
        sa.Column("storage_key", sa.Text, nullable=True),
        sa.Column("sha256", sa.Text, nullable=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_archives_project_seq", "archives", ["project_key", "seq"])
    op.create_index("ix_archives_session", "archives", ["session_id"])
    # one running archive per session (and archive tag): enforced by the database, so two
    # concurrent starts, even on two nodes, cannot both win
    running = sa.text("status IN ('started', 'paused')")
    op.create_index(
        "ux_archives_running", "archives", ["session_id", sa.text("COALESCE(multi_archive_tag, '')")], unique=True,
        sqlite_where=running, postgresql_where=running,
    )
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("project_key", sa.Text, sa.ForeignKey("projects.api_key"), nullable=False),
        sa.Column("group", sa.Text, nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_callbacks_project", "callbacks", ["project_key"])


def downgrade() -> None:
    raise NotImplementedError("Archivist migrations go forward only")
