"""A project's storage configuration rows (``archivist projects set-storage``).

A change adds a row and never edits one: the newest row is the project's current target, and
an archive remembers the target it was stored with, so it can still be fetched and deleted
after the configuration moved on.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from archivist.store.schema import storage_targets

LOCAL = "local"
S3 = "s3"
AZURE = "azure"


@dataclass(frozen=True)
class StorageTarget:
    id: str
    project_key: str
    backend: str
    """``local``, ``s3`` or ``azure``."""
    bucket: str | None = None
    """S3: the bucket; Azure: the container."""
    endpoint_url: str | None = None
    """S3: the endpoint of an S3-compatible service; Azure: the account URL."""
    region: str | None = None
    access_key_id: str | None = None
    """S3: the access key id; Azure: the account name."""
    secret_access_key: str | None = field(default=None, repr=False)
    """S3: the secret access key; Azure: the account key."""
    prefix: str = ""
    created_at: int = 0
    connection_string: str | None = field(default=None, repr=False)
    """Azure: a connection string (holds the account and its key or a SAS)."""
    sas_token: str | None = field(default=None, repr=False)
    """Azure: a SAS token (with the account URL)."""

    def describe(self) -> dict[str, object]:
        """For people and logs: everything but the secret."""
        out: dict[str, object] = {"id": self.id, "projectKey": self.project_key, "backend": self.backend}
        if self.backend == S3:
            out.update(
                bucket=self.bucket,
                endpointUrl=self.endpoint_url,
                region=self.region,
                prefix=self.prefix,
                credentials="explicit" if self.access_key_id else "default chain",
            )
        elif self.backend == AZURE:
            out.update(
                container=self.bucket,
                accountUrl=self.endpoint_url,
                accountName=self.access_key_id,
                prefix=self.prefix,
                credentials="connection string" if self.connection_string
                else "account key" if self.secret_access_key else "SAS token",
            )
        return out


class StorageTargetRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, target: StorageTarget) -> StorageTarget:
        if target.backend not in (LOCAL, S3, AZURE):
            raise ValueError(f"unknown storage backend {target.backend!r}")
        if target.backend == S3 and not target.bucket:
            raise ValueError("an S3 target needs a bucket")
        if target.backend == AZURE and not target.bucket:
            raise ValueError("an Azure target needs a container")
        if target.backend == AZURE and not (target.connection_string or target.secret_access_key or target.sas_token):
            raise ValueError("an Azure target needs a connection string, an account key or a SAS token")
        row = StorageTarget(
            id=target.id or str(uuid.uuid4()),
            project_key=target.project_key,
            backend=target.backend,
            bucket=target.bucket,
            endpoint_url=target.endpoint_url,
            region=target.region,
            access_key_id=target.access_key_id,
            secret_access_key=target.secret_access_key,
            prefix=target.prefix,
            created_at=target.created_at or time.time_ns() // 1000,
            connection_string=target.connection_string,
            sas_token=target.sas_token,
        )
        async with self._engine.begin() as conn:
            await conn.execute(insert(storage_targets).values(**row.__dict__))
        return row

    async def current(self, project_key: str) -> StorageTarget | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(storage_targets)
                    .where(storage_targets.c.project_key == project_key)
                    .order_by(storage_targets.c.created_at.desc())
                    .limit(1)
                )
            ).mappings().first()
        return StorageTarget(**row) if row else None

    async def get(self, target_id: str) -> StorageTarget | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(storage_targets).where(storage_targets.c.id == target_id))
            ).mappings().first()
        return StorageTarget(**row) if row else None
