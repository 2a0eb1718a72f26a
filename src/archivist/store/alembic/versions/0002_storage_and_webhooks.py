"""storage targets, archive files, webhook outbox and delivery log (the hand-written migration 2)

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a project's storage configuration; a change adds a row (the newest one is current),
    # so archives stored under an older configuration can still be fetched and deleted
    op.create_table(
        "storage_targets",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("project_key", sa.Text, sa.ForeignKey("projects.api_key"), nullable=False),
        sa.Column("backend", sa.Text, nullable=False),
        sa.Column("bucket", sa.Text, nullable=True),
        sa.Column("endpoint_url", sa.Text, nullable=True),
        sa.Column("region", sa.Text, nullable=True),
        sa.Column("access_key_id", sa.Text, nullable=True),
        sa.Column("secret_access_key", sa.Text, nullable=True),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_storage_targets_project", "storage_targets", ["project_key", "created_at"])
    # where an archive's file lives and what remains to be done with it (upload, removal)
    op.create_table(
        "archive_files",
        sa.Column("archive_id", sa.Text, primary_key=True),
        sa.Column("project_key", sa.Text, nullable=False),
        sa.Column("local_key", sa.Text, nullable=False),
        sa.Column("target_id", sa.Text, nullable=True),
        sa.Column("object_key", sa.Text, nullable=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("local_copy", sa.Boolean, nullable=False),
        sa.Column("duration", sa.Integer, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=True),
        sa.Column("stop_reason", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=True),
        sa.Column("lease_until", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_archive_files_due", "archive_files", ["state", "next_attempt_at"])
    # one row per (status change, callback URL), written in the status change's transaction
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("project_key", sa.Text, nullable=False),
        sa.Column("archive_id", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("archive_status", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("lease_until", sa.BigInteger, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("delivered_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ux_webhook_outbox_order", "webhook_outbox", ["archive_id", "url", "seq"], unique=True)
    op.create_index("ix_webhook_outbox_due", "webhook_outbox", ["state", "next_attempt_at"])
    op.create_index("ix_webhook_outbox_project", "webhook_outbox", ["project_key", "created_at"])
    op.create_table(
        "webhook_attempts",
        sa.Column("delivery_id", sa.Text, primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("attempted_at", sa.BigInteger, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("Archivist migrations go forward only")
