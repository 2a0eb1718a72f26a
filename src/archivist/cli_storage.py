"""``archivist projects set-storage | storage``: a project's archive storage.

``set-storage KEY --local`` or ``set-storage KEY --s3-bucket B [--s3-endpoint-url U]
[--s3-region R] [--s3-prefix P] [--s3-access-key-id ID --s3-secret-access-key-env VAR]``.
The secret is read from an environment variable (or stdin), never from the command line,
where every user of the machine could read it. ``--check`` writes, reads and deletes a probe
object before saving. The change applies to archives that finish from then on; earlier ones
stay where they are (docs/storage.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from archivist import config
from archivist.cli_webhooks import run_db
from archivist.storage.base import StorageError
from archivist.storage.s3 import S3Settings, S3Storage
from archivist.store.projects import ProjectRepository
from archivist.store.storage_targets import LOCAL, S3, StorageTarget, StorageTargetRepository


def add_project_commands(psub: Any) -> None:
    st = psub.add_parser("set-storage", help="store a project's archives locally or in S3-compatible storage")
    st.add_argument("api_key")
    kind = st.add_mutually_exclusive_group(required=True)
    kind.add_argument("--local", action="store_true", help="files under the data directory (the default)")
    kind.add_argument("--s3-bucket", help="S3 bucket name")
    st.add_argument("--s3-endpoint-url", help="for S3-compatible services (MinIO, Ceph, R2 …)")
    st.add_argument("--s3-region")
    st.add_argument("--s3-prefix", default="", help="key prefix, e.g. 'recordings/'")
    st.add_argument("--s3-access-key-id", help="default: boto3's credential chain (env, files, role)")
    secret = st.add_mutually_exclusive_group()
    secret.add_argument("--s3-secret-access-key-env", metavar="VAR",
                        help="read the secret access key from this environment variable")
    secret.add_argument("--s3-secret-access-key-stdin", action="store_true",
                        help="read the secret access key from the first line of stdin")
    st.add_argument("--check", action="store_true", help="write, read and delete a probe object first")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_set_storage)
    show = psub.add_parser("storage", help="show a project's current storage (secrets masked)")
    show.add_argument("api_key")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_storage)


def _secret(args: argparse.Namespace) -> str | None:
    if args.s3_secret_access_key_env:
        value = os.environ.get(args.s3_secret_access_key_env, "")
        if not value:
            raise ValueError(f"${args.s3_secret_access_key_env} is empty")
        return value
    if args.s3_secret_access_key_stdin:
        return sys.stdin.readline().strip() or None
    return None


async def _probe(target: StorageTarget) -> None:
    assert target.bucket is not None
    store = S3Storage(S3Settings(bucket=target.bucket, endpoint_url=target.endpoint_url, region=target.region,
                                 access_key_id=target.access_key_id,
                                 secret_access_key=target.secret_access_key, max_attempts=1))
    key = f"{target.prefix}.archivist-check"
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe"
        probe.write_bytes(b"archivist storage check\n")
        await store.put(key, probe)
    await store.delete(key)


def _show(target: StorageTarget | None, api_key: str, as_json: bool) -> None:
    described = target.describe() if target else {"projectKey": api_key, "backend": "default"}
    if as_json:
        print(json.dumps(described))
    else:
        print("  ".join(f"{k}={v}" for k, v in described.items() if v not in (None, "")))


def cmd_set_storage(args: argparse.Namespace, settings: config.Settings) -> int:
    try:
        secret = _secret(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if bool(args.s3_access_key_id) != bool(secret) and not args.local:
        print("error: give both --s3-access-key-id and a secret (--s3-secret-access-key-env/-stdin), "
              "or neither (boto3's credential chain)", file=sys.stderr)
        return 2
    target = StorageTarget(
        id="",
        project_key=args.api_key,
        backend=LOCAL if args.local else S3,
        bucket=None if args.local else args.s3_bucket,
        endpoint_url=None if args.local else args.s3_endpoint_url,
        region=None if args.local else args.s3_region,
        access_key_id=None if args.local else args.s3_access_key_id,
        secret_access_key=None if args.local else secret,
        prefix="" if args.local else args.s3_prefix,
    )
    if args.check and target.backend == S3:
        try:
            asyncio.run(_probe(target))
        except (StorageError, OSError) as exc:
            print(f"error: storage check failed: {exc}", file=sys.stderr)
            return 1

    async def go(engine: AsyncEngine) -> StorageTarget | None:
        if await ProjectRepository(engine).get(args.api_key) is None:
            return None
        return await StorageTargetRepository(engine).add(target)

    saved = run_db(settings, go)
    if saved is None:
        print(f"error: no project {args.api_key}", file=sys.stderr)
        return 1
    _show(saved, args.api_key, args.json)
    return 0


def cmd_storage(args: argparse.Namespace, settings: config.Settings) -> int:
    async def go(engine: AsyncEngine) -> StorageTarget | None:
        return await StorageTargetRepository(engine).current(args.api_key)

    _show(run_db(settings, go), args.api_key, args.json)
    return 0
