"""Streaming uploads (``open_upload``: ``write(chunk)`` … ``complete()`` / ``abort()``), standalone,
against moto's S3 server (multipart upload) and Azurite (block blob): what the recorder will
feed while it records. Nothing is visible before ``complete``; ``complete`` confirms the size
(and, on Azure, the SHA-256 metadata); ``abort`` leaves nothing behind and an object already
under the key untouched.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from archivist.storage.azure import AzureSettings, AzureStorage
from archivist.storage.base import StorageError, StreamingStorage
from archivist.storage.s3 import MIN_PART_SIZE, S3Settings, S3Storage
from tests.storage.harness import Azurite, MotoServer

CHUNK = 64 * 1024


def _s3(moto: MotoServer, bucket: str) -> S3Storage:
    return S3Storage(S3Settings(bucket=bucket, endpoint_url=moto.url, region="us-east-1", access_key_id="testing",
                                secret_access_key="testing", part_size=MIN_PART_SIZE))


def _azure(azurite: Azurite, container: str) -> AzureStorage:
    return AzureStorage(AzureSettings(container=container, connection_string=azurite.connection_string,
                                      block_size=1 << 20))


async def _stream(store: StreamingStorage, key: str, data: bytes) -> Any:
    upload = await store.open_upload(key)
    for i in range(0, len(data), CHUNK):
        await upload.write(data[i:i + CHUNK])
    assert await store.size(key) is None or key.endswith("existing")  # nothing visible before complete
    return await upload.complete()


async def test_s3_multipart_upload_as_the_bytes_come(moto: MotoServer) -> None:
    client = moto.client()
    client.create_bucket(Bucket="streamed")
    store = _s3(moto, "streamed")
    data = os.urandom(2 * MIN_PART_SIZE + 12345)  # three parts, the last one short
    stored = await _stream(store, "a/archive.mp4", data)
    assert stored.size == len(data) and stored.sha256 == hashlib.sha256(data).hexdigest()
    obj = client.get_object(Bucket="streamed", Key="a/archive.mp4")
    assert obj["Body"].read() == data and obj["ContentType"] == "video/mp4"
    assert obj["ETag"].strip('"').endswith("-3")  # really went up as three parts

    empty = await _stream(store, "empty/archive.mp4", b"")
    assert empty.size == 0 and await store.size("empty/archive.mp4") == 0

    # abort: the upload is gone from the bucket, an object already under the key is untouched
    client.put_object(Bucket="streamed", Key="existing", Body=b"kept")
    upload = await store.open_upload("existing")
    await upload.write(os.urandom(MIN_PART_SIZE + 1))  # one part already sent
    await upload.abort()
    await upload.abort()  # idempotent
    assert client.list_multipart_uploads(Bucket="streamed").get("Uploads", []) == []
    assert client.get_object(Bucket="streamed", Key="existing")["Body"].read() == b"kept"
    with pytest.raises(StorageError):
        await upload.write(b"more")


async def test_s3_upload_into_a_missing_bucket_fails_clearly(moto: MotoServer) -> None:
    with pytest.raises(StorageError, match="NoSuchBucket"):
        await _s3(moto, "no-such-bucket").open_upload("k")


async def test_azure_block_blob_as_the_bytes_come(azurite: Azurite) -> None:
    container = azurite.container("streamed")
    store = _azure(azurite, "streamed")
    data = os.urandom(3 * (1 << 20) + 54321)  # four blocks, the last one short
    stored = await _stream(store, "a/archive.mp4", data)
    digest = hashlib.sha256(data).hexdigest()
    assert stored.size == len(data) and stored.sha256 == digest
    blob = container.get_blob_client("a/archive.mp4")
    props = blob.get_blob_properties()
    assert props.metadata["sha256"] == digest and props.content_settings.content_type == "video/mp4"
    assert blob.download_blob().readall() == data
    assert len(blob.get_block_list("committed")[0]) == 4

    empty = await _stream(store, "empty/archive.mp4", b"")
    assert empty.size == 0 and await store.size("empty/archive.mp4") == 0

    container.upload_blob("existing", b"kept")
    upload = await store.open_upload("existing")
    await upload.write(os.urandom((1 << 20) + 1))  # one block already staged
    await upload.abort()
    assert container.get_blob_client("existing").download_blob().readall() == b"kept"
    upload = await store.open_upload("never-committed")
    await upload.write(os.urandom((1 << 20) + 1))
    await upload.abort()
    with pytest.raises(ResourceNotFoundError):
        container.get_blob_client("never-committed").get_blob_properties()
    with pytest.raises(StorageError):
        await upload.complete()


async def test_azure_upload_into_a_missing_container_fails_clearly(azurite: Azurite) -> None:
    upload = await _azure(azurite, "no-such-container").open_upload("k")
    with pytest.raises(StorageError, match="ContainerNotFound"):
        await upload.write(os.urandom((1 << 20) + 1))
