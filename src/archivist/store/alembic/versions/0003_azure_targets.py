"""Azure storage targets; archives counted by status; the hand-written schema_version retired

Revision ID: 0003
Revises: 0002
Create Date: 2025-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # an Azure target keeps its container in ``bucket``, its account URL in ``endpoint_url``,
    # its account name and key in ``access_key_id`` / ``secret_access_key``, or one of these
    op.add_column("storage_targets", sa.Column("connection_string", sa.Text, nullable=True))
    op.add_column("storage_targets", sa.Column("sas_token", sa.Text, nullable=True))
    # /metrics counts archives by status at every scrape
    op.create_index("ix_archives_status", "archives", ["status"])
    # the table of the hand-written migrations (their versions are Alembic's 0001 and 0002)
    op.execute("DROP TABLE IF EXISTS schema_version")


def downgrade() -> None:
    raise NotImplementedError("Archivist migrations go forward only")
