"""The object store of a storage target: S3-compatible or Azure Blob Storage."""

from __future__ import annotations

from archivist.storage.azure import AzureSettings, AzureStorage
from archivist.storage.base import StorageError, StreamingStorage
from archivist.storage.s3 import S3Settings, S3Storage
from archivist.store.storage_targets import AZURE, S3, StorageTarget


def azure_settings(target: StorageTarget, *, max_attempts: int = 3) -> AzureSettings:
    """Raises ValueError when the target lacks its container or every credential."""
    return AzureSettings(
        container=target.bucket or "",
        connection_string=target.connection_string,
        account_url=target.endpoint_url,
        account_name=target.access_key_id,
        account_key=target.secret_access_key,
        sas_token=target.sas_token,
        max_attempts=max_attempts,
    )


def open_store(target: StorageTarget, *, max_attempts: int = 3) -> StreamingStorage:
    """The store a remote target names; ``max_attempts``: the client's own tries of a request."""
    if target.backend == S3 and target.bucket:
        return S3Storage(S3Settings(
            bucket=target.bucket,
            endpoint_url=target.endpoint_url,
            region=target.region,
            access_key_id=target.access_key_id,
            secret_access_key=target.secret_access_key,
            max_attempts=max_attempts,
        ))
    if target.backend == AZURE:
        try:
            return AzureStorage(azure_settings(target, max_attempts=max_attempts))
        except ValueError as exc:
            raise StorageError(f"storage target {target.id}: {exc}") from None
    raise StorageError(f"storage target {target.id} is not an object store ({target.backend})")
