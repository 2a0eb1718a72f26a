"""S3-compatible object storage (AWS S3, MinIO, Ceph, R2, …) through boto3.

Uploads go through boto3's transfer manager (multipart for large files) on a worker thread; a
put returns only once a HEAD of the object confirms its size (and the SHA-256 stored in its
metadata), so the caller may delete its local copy. An upload fed as a recording is written is a
multipart upload (:meth:`S3Storage.open_upload`). Downloads are redirects to a presigned GET
URL that carries the Content-Type and Content-Disposition. Credentials come from the storage
target, else from boto3's default chain (environment, config files, instance role); they are
never logged, and error messages never carry them.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archivist import logs
from archivist.storage.base import (
    CONTENT_TYPE,
    Cancelled,
    Location,
    Redirect,
    StorageError,
    StoredObject,
    content_disposition,
    content_type,
)

log = logs.get(__name__)

PART_SIZE = 8 << 20
"""Bytes per part of a streamed upload (S3's minimum is 5 MiB, but for the last part; 10,000
parts of 8 MiB hold 78 GiB)."""
MIN_PART_SIZE = 5 << 20


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 3
    """boto3's own retries of one request; our uploads add their own backoff on top."""
    part_size: int = PART_SIZE

    def __post_init__(self) -> None:
        if self.part_size < MIN_PART_SIZE:
            raise ValueError(f"an S3 part holds at least {MIN_PART_SIZE} bytes")


def _boto() -> tuple[Any, Any, Any]:
    try:
        import boto3  # type: ignore[import-untyped]
        from boto3.exceptions import Boto3Error  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise StorageError("S3 storage needs boto3 (pip install boto3)") from exc
    # Boto3Error: the transfer manager wraps a failed PUT in S3UploadFailedError
    return boto3, Config, (BotoCoreError, ClientError, Boto3Error)


def _describe(exc: BaseException) -> str:
    """A short message for logs and the archive file row (boto's messages hold no credentials)."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
    text = str(exc) or type(exc).__name__
    return f"{code}: {text}"[:500] if code else f"{type(exc).__name__}: {text}"[:500]


class S3Storage:
    kind = "s3"

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._lock = threading.Lock()

    def _s3(self) -> Any:
        with self._lock:  # boto3 clients are thread-safe once made, but making one is not
            if self._client is None:
                boto3, config_cls, _ = _boto()
                s = self.settings
                config = config_cls(
                    signature_version="s3v4",
                    connect_timeout=s.connect_timeout,
                    read_timeout=s.read_timeout,
                    retries={"max_attempts": s.max_attempts, "mode": "standard"},
                    s3={"addressing_style": "path"} if s.endpoint_url else {},
                )
                session = boto3.session.Session()
                self._client = session.client(
                    "s3",
                    endpoint_url=s.endpoint_url or None,
                    region_name=s.region or "us-east-1",
                    aws_access_key_id=s.access_key_id or None,
                    aws_secret_access_key=s.secret_access_key or None,
                    config=config,
                )
            return self._client

    async def put(
        self, key: str, source: Path, *, sha256: str | None = None, cancel: threading.Event | None = None
    ) -> None:
        await asyncio.to_thread(self._put, key, source, sha256, cancel)

    def _put(self, key: str, source: Path, sha256: str | None, cancel: threading.Event | None) -> None:
        _, _, errors = _boto()
        expected = source.stat().st_size

        def progress(_sent: int) -> None:
            if cancel is not None and cancel.is_set():
                raise Cancelled("upload cancelled")

        extra: dict[str, Any] = {"ContentType": CONTENT_TYPE}
        if sha256:
            extra["Metadata"] = {"sha256": sha256}
        try:
            client = self._s3()
            client.upload_file(str(source), self.settings.bucket, key, ExtraArgs=extra, Callback=progress)
            head = client.head_object(Bucket=self.settings.bucket, Key=key)
        except Cancelled:
            raise
        except (*errors, OSError) as exc:
            if cancel is not None and cancel.is_set():
                raise Cancelled("upload cancelled") from None
            raise StorageError(_describe(exc)) from None
        if int(head.get("ContentLength", -1)) != expected:
            raise StorageError(f"uploaded size {head.get('ContentLength')} != {expected}")
        stored_sha = (head.get("Metadata") or {}).get("sha256")
        if sha256 and stored_sha != sha256:
            raise StorageError("uploaded object lost its sha256 metadata")

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    def _delete(self, key: str) -> None:
        _, _, errors = _boto()
        try:
            self._s3().delete_object(Bucket=self.settings.bucket, Key=key)
        except errors as exc:
            if _status(exc) == 404:
                return
            raise StorageError(_describe(exc)) from None

    async def size(self, key: str) -> int | None:
        return await asyncio.to_thread(self._size, key)

    def _size(self, key: str) -> int | None:
        _, _, errors = _boto()
        try:
            head = self._s3().head_object(Bucket=self.settings.bucket, Key=key)
        except errors as exc:
            if _status(exc) == 404:
                return None
            raise StorageError(_describe(exc)) from None
        return int(head["ContentLength"])

    async def locate(self, key: str, *, filename: str, ttl: int) -> Location | None:
        return Redirect(await asyncio.to_thread(self._presign, key, filename, ttl))

    def _presign(self, key: str, filename: str, ttl: int) -> str:
        _, _, errors = _boto()
        try:
            url: str = self._s3().generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.settings.bucket,
                    "Key": key,
                    "ResponseContentType": content_type(filename),
                    "ResponseContentDisposition": content_disposition(filename),
                },
                ExpiresIn=ttl,
            )
        except errors as exc:
            raise StorageError(_describe(exc)) from None
        return url

    # ---- streaming uploads -------------------------------------------------------------------
    async def open_upload(self, key: str) -> S3MultipartUpload:
        upload = S3MultipartUpload(self, key)
        await asyncio.to_thread(upload.begin)
        return upload

    async def discard_uploads(self, key: str, upload_id: str | None = None) -> int:
        return await asyncio.to_thread(self._discard_uploads, key, upload_id)

    def _discard_uploads(self, key: str, upload_id: str | None) -> int:
        """Abort ``upload_id`` and every other unfinished multipart upload to ``key`` (a killed
        server's); the listing needs ``s3:ListBucketMultipartUploads``, and is skipped with a
        log line when that is refused. Returns how many were aborted."""
        _, _, errors = _boto()
        client, bucket = self._s3(), self.settings.bucket
        ids: set[str] = {upload_id} if upload_id else set()
        try:
            listed = client.list_multipart_uploads(Bucket=bucket, Prefix=key)
            ids.update(u["UploadId"] for u in listed.get("Uploads", []) if u.get("Key") == key)
        except errors as exc:
            if not upload_id:
                raise StorageError(_describe(exc)) from None
            log.info("unfinished uploads not listed", key=key, error=_describe(exc))
        aborted = 0
        for found in sorted(ids):
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=found)
                aborted += 1
            except errors as exc:
                if _status(exc) == 404:  # NoSuchUpload: completed or aborted already
                    continue
                raise StorageError(_describe(exc)) from None
        return aborted


class S3MultipartUpload:
    """:class:`~archivist.storage.base.ObjectUpload` for S3: a multipart upload whose parts go
    up as soon as ``part_size`` bytes have arrived; ``complete`` sends the last part, completes
    the upload and checks the object's size. Each part's checksum is verified by the store.

    S3 takes metadata only when an upload begins, before the SHA-256 is known: a streamed
    object carries none (the SHA-256 is returned, and kept with the archive). An upload that is
    neither completed nor aborted (a killed server) stays invisible and billed until
    :meth:`S3Storage.discard_uploads` aborts it (``storage/live.py`` does, before the archive's
    upload after a restart) or a bucket lifecycle rule (``AbortIncompleteMultipartUpload``) does.
    """

    def __init__(self, store: S3Storage, key: str) -> None:
        self.store = store
        self.key = key
        self.upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._buffer = bytearray()
        self._digest = hashlib.sha256()
        self._size = 0
        self._done = False

    def _call(self, method: str, **params: Any) -> Any:
        _, _, errors = _boto()
        try:
            return getattr(self.store._s3(), method)(Bucket=self.store.settings.bucket, Key=self.key, **params)
        except errors as exc:
            raise StorageError(_describe(exc)) from None

    def begin(self) -> None:
        self.upload_id = self._call("create_multipart_upload", ContentType=CONTENT_TYPE)["UploadId"]

    def _send_part(self, data: bytes) -> None:
        number = len(self._parts) + 1
        answer = self._call("upload_part", UploadId=self.upload_id, PartNumber=number, Body=data)
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def _send_full_parts(self) -> None:
        size = self.store.settings.part_size
        while len(self._buffer) >= size:
            self._send_part(bytes(self._buffer[:size]))
            del self._buffer[:size]

    async def write(self, chunk: bytes) -> None:
        if self._done:
            raise StorageError("the upload is already complete or aborted")
        self._digest.update(chunk)
        self._size += len(chunk)
        self._buffer += chunk
        if len(self._buffer) >= self.store.settings.part_size:  # a part is full: send it off the loop
            await asyncio.to_thread(self._send_full_parts)

    async def complete(self) -> StoredObject:
        if self._done:
            raise StorageError("the upload is already complete or aborted")
        return await asyncio.to_thread(self._complete)

    def _complete(self) -> StoredObject:
        if self._buffer or not self._parts:  # the last part may be short (or empty: an empty object)
            self._send_part(bytes(self._buffer))
            self._buffer.clear()
        self._call("complete_multipart_upload", UploadId=self.upload_id, MultipartUpload={"Parts": self._parts})
        self._done = True
        head = self._call("head_object")
        if int(head.get("ContentLength", -1)) != self._size:
            raise StorageError(f"uploaded size {head.get('ContentLength')} != {self._size}")
        return StoredObject(key=self.key, size=self._size, sha256=self._digest.hexdigest())

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._buffer.clear()
        if self.upload_id is not None:
            await asyncio.to_thread(self._call, "abort_multipart_upload", UploadId=self.upload_id)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(code) if code is not None else None
    return None
