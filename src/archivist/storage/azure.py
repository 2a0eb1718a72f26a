"""Azure Blob Storage through ``azure-storage-blob`` (block blobs).

A put stages the file as blocks (``block_size`` each, every block's MD5 checked by the
service), then commits the block list with ``Content-Type: video/mp4`` and the SHA-256 that was
computed over the bytes as they were sent (``x-ms-meta-sha256``); it returns only once the
blob's properties confirm its size and SHA-256, so the caller may delete its local copy. The
same block writer takes an upload fed as a recording is written (:meth:`AzureStorage.open_upload`).

Credentials, one of: a connection string; an account name and key (with an optional account
URL, for Azurite or a sovereign cloud); or an account URL and a SAS token. With an account key,
downloads are redirects to a read-only blob SAS URL that expires with the download link and
carries the Content-Type and Content-Disposition; with only a SAS token (which cannot sign
another), this server streams the blob to the client itself, Range requests included.
Credentials are never logged, and error messages are scrubbed of them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.blob import (
    BlobBlock,
    BlobClient,
    BlobSasPermissions,
    BlobServiceClient,
    ContainerClient,
    ContentSettings,
    ExponentialRetry,
    generate_blob_sas,
)

from archivist.storage.base import (
    CONTENT_TYPE,
    Cancelled,
    Location,
    Proxied,
    Redirect,
    StorageError,
    StoredObject,
    content_disposition,
    content_type,
)

BLOCK_SIZE = 4 << 20
"""Bytes per staged block: 50,000 blocks (the service's limit) of 4 MiB hold 195 GiB."""


@dataclass(frozen=True)
class AzureSettings:
    container: str
    connection_string: str | None = field(default=None, repr=False)
    account_url: str | None = None
    """``https://{account}.blob.core.windows.net`` by default; Azurite: ``http://127.0.0.1:10000/devstoreaccount1``."""
    account_name: str | None = None
    account_key: str | None = field(default=None, repr=False)
    sas_token: str | None = field(default=None, repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 3
    """The SDK's own tries of one request; our uploads add their own backoff on top."""
    block_size: int = BLOCK_SIZE

    def __post_init__(self) -> None:
        if not self.container:
            raise ValueError("an Azure target needs a container")
        if not (self.connection_string or (self.account_name and self.account_key) or self.sas_token):
            raise ValueError("an Azure target needs a connection string, an account name and key, or a SAS token")
        if self.sas_token and not (self.account_url or self.account_name):
            raise ValueError("a SAS token needs the account URL (or the account name)")


def _scrub(text: str, secrets: tuple[str | None, ...]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "***")
    return re.sub(r"(sig|AccountKey|SharedAccessSignature)=[^&;\s'\"]+", r"\1=***", text)


class AzureStorage:
    kind = "azure"

    def __init__(self, settings: AzureSettings) -> None:
        self.settings = settings
        self._service: BlobServiceClient | None = None
        self._lock = threading.Lock()

    # ---- clients -----------------------------------------------------------------------------
    def _client(self) -> BlobServiceClient:
        with self._lock:
            if self._service is None:
                s = self.settings
                options: dict[str, Any] = {
                    "connection_timeout": s.connect_timeout,
                    "read_timeout": s.read_timeout,
                    # the SDK waits 15 s, 18 s, … between tries by default; our own backoff is on top
                    "retry_policy": ExponentialRetry(
                        initial_backoff=1, increment_base=2, retry_total=max(0, s.max_attempts - 1),
                        random_jitter_range=1,
                    ),
                }
                if s.connection_string:
                    self._service = BlobServiceClient.from_connection_string(s.connection_string, **options)
                else:
                    url = s.account_url or f"https://{s.account_name}.blob.core.windows.net"
                    credential: Any = (
                        {"account_name": s.account_name, "account_key": s.account_key}
                        if s.account_key else s.sas_token
                    )
                    self._service = BlobServiceClient(url.rstrip("/"), credential=credential, **options)
            return self._service

    def _container(self) -> ContainerClient:
        return self._client().get_container_client(self.settings.container)

    def _blob(self, key: str) -> BlobClient:
        return self._container().get_blob_client(key)

    def _error(self, exc: BaseException) -> StorageError:
        s = self.settings
        code = getattr(exc, "error_code", None)
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        text = f"{code}: {message}" if code else f"{type(exc).__name__}: {message}"
        return StorageError(_scrub(text, (s.account_key, s.sas_token, s.connection_string))[:500])

    def _signing_key(self) -> tuple[str, str] | None:
        """(account name, account key) when we can sign a blob SAS ourselves."""
        credential = self._client().credential
        name, key = getattr(credential, "account_name", None), getattr(credential, "account_key", None)
        return (str(name), str(key)) if name and key else None

    # ---- the Storage protocol ----------------------------------------------------------------
    async def put(
        self, key: str, source: Path, *, sha256: str | None = None, cancel: threading.Event | None = None
    ) -> None:
        await asyncio.to_thread(self._put, key, source, sha256, cancel)

    def _put(self, key: str, source: Path, sha256: str | None, cancel: threading.Event | None) -> None:
        writer = _BlockWriter(self, key)
        try:
            with source.open("rb") as fh:
                while chunk := fh.read(self.settings.block_size):
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("upload cancelled")
                    writer.write(chunk)
            writer.complete(sha256)
        except OSError as exc:
            raise StorageError(f"{type(exc).__name__}: {exc}") from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    def _delete(self, key: str) -> None:
        try:
            self._blob(key).delete_blob(delete_snapshots="include")
        except ResourceNotFoundError:
            return
        except AzureError as exc:
            raise self._error(exc) from None

    async def size(self, key: str) -> int | None:
        return await asyncio.to_thread(self._size, key)

    def _size(self, key: str) -> int | None:
        try:
            return int(self._blob(key).get_blob_properties().size)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise self._error(exc) from None

    async def locate(self, key: str, *, filename: str, ttl: int) -> Location | None:
        return await asyncio.to_thread(self._locate, key, filename, ttl)

    def _locate(self, key: str, filename: str, ttl: int) -> Location | None:
        signing = self._signing_key()
        if signing is not None:
            now = datetime.now(UTC)
            sas = generate_blob_sas(
                account_name=signing[0], container_name=self.settings.container, blob_name=key,
                account_key=signing[1], permission=BlobSasPermissions(read=True),
                start=now - timedelta(minutes=5),  # clock skew between us and the service
                expiry=now + timedelta(seconds=ttl),
                content_type=content_type(filename), content_disposition=content_disposition(filename),
            )
            return Redirect(f"{self._blob(key).url}?{sas}")
        size = self._size(key)
        if size is None:
            return None
        return Proxied(size=size, read=lambda offset, length: self._read(key, offset, length))

    async def _read(self, key: str, offset: int, length: int) -> AsyncIterator[bytes]:
        """The blob's bytes ``[offset, offset + length)``, a chunk at a time, off the event loop."""
        if length <= 0:
            return

        def open_chunks() -> Iterator[bytes]:
            return iter(self._blob(key).download_blob(offset=offset, length=length).chunks())

        try:
            chunks = await asyncio.to_thread(open_chunks)
            while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
                yield chunk
        except AzureError as exc:
            raise self._error(exc) from None

    # ---- streaming uploads -------------------------------------------------------------------
    async def open_upload(self, key: str) -> AzureBlockUpload:
        return AzureBlockUpload(_BlockWriter(self, key))

    async def discard_uploads(self, key: str, upload_id: str | None = None) -> int:
        """Nothing to abort: blocks staged and never committed are not a blob; the next commit
        of this key (the upload after a restart restages the same block ids) or the service
        (after a week) discards them."""
        return 0


class _BlockWriter:
    """Stages blocks as bytes come, commits them as one block blob (blocking calls)."""

    def __init__(self, store: AzureStorage, key: str) -> None:
        self.store = store
        self.key = key
        self._blob = store._blob(key)
        self._blocks: list[str] = []
        self._buffer = bytearray()
        self._digest = hashlib.sha256()
        self._size = 0
        self.done = False

    def append(self, chunk: bytes) -> bool:
        """Take ``chunk`` (cheap, no I/O); True when a whole block waits to be staged."""
        if self.done:
            raise StorageError("the upload is already complete or aborted")
        self._digest.update(chunk)
        self._size += len(chunk)
        self._buffer += chunk
        return len(self._buffer) >= self.store.settings.block_size

    def stage_full_blocks(self) -> None:
        size = self.store.settings.block_size
        while len(self._buffer) >= size:
            self._stage(bytes(self._buffer[:size]))
            del self._buffer[:size]

    def write(self, chunk: bytes) -> None:
        if self.append(chunk):
            self.stage_full_blocks()

    def _stage(self, data: bytes) -> None:
        # every id of a blob must have the same length; a retried upload restages the same ids
        block_id = base64.b64encode(f"{len(self._blocks):08d}".encode()).decode()
        try:
            self._blob.stage_block(block_id, data, length=len(data), validate_content=True)
        except AzureError as exc:
            raise self.store._error(exc) from None
        self._blocks.append(block_id)

    def complete(self, expected_sha256: str | None = None) -> StoredObject:
        if self.done:
            raise StorageError("the upload is already complete or aborted")
        sha256 = self._digest.hexdigest()
        if expected_sha256 and sha256 != expected_sha256:
            # what was read differs from what the recorder wrote: commit nothing, keep the local copy
            raise StorageError(f"the local file's sha256 {sha256} is not the recorded {expected_sha256}")
        if self._buffer or not self._blocks:
            self._stage(bytes(self._buffer))
            self._buffer.clear()
        try:
            self._blob.commit_block_list(
                [BlobBlock(block_id=b) for b in self._blocks],
                content_settings=ContentSettings(content_type=CONTENT_TYPE),
                metadata={"sha256": sha256},
            )
            props = self._blob.get_blob_properties()
        except AzureError as exc:
            raise self.store._error(exc) from None
        self.done = True
        if int(props.size) != self._size:
            raise StorageError(f"uploaded size {props.size} != {self._size}")
        if (props.metadata or {}).get("sha256") != sha256:
            raise StorageError("uploaded blob lost its sha256 metadata")
        return StoredObject(key=self.key, size=self._size, sha256=sha256)

    def abort(self) -> None:
        # Staged blocks that are never committed are discarded by the service (after a week);
        # a blob committed earlier under this key is left as it was.
        self.done = True
        self._buffer.clear()


class AzureBlockUpload:
    """:class:`~archivist.storage.base.ObjectUpload` for Azure: each block is staged once
    ``block_size`` bytes have arrived; ``complete`` commits the block list."""

    def __init__(self, writer: _BlockWriter) -> None:
        self._writer = writer
        self.key = writer.key
        self.upload_id: str | None = None  # a block blob has no upload to abort

    async def write(self, chunk: bytes) -> None:
        if self._writer.append(chunk):  # a block is full: stage it off the event loop
            await asyncio.to_thread(self._writer.stage_full_blocks)

    async def complete(self) -> StoredObject:
        return await asyncio.to_thread(self._writer.complete)

    async def abort(self) -> None:
        self._writer.abort()
