"""``archivist projects set-storage | storage``: a project's archive storage.

``set-storage KEY --local``, or ``set-storage KEY --s3-bucket B [--s3-endpoint-url U]
[--s3-region R] [--s3-prefix P] [--s3-access-key-id ID --s3-secret-access-key-env VAR]``, or
``set-storage KEY --azure-container C`` with ``--azure-connection-string-env VAR``, or
``--azure-account NAME --azure-account-key-env VAR``, or ``--azure-account-url U
--azure-sas-token-env VAR`` (``--azure-account-url`` also names Azurite or a sovereign cloud;
``--azure-prefix P``). Secrets are read from an environment variable (or stdin), never from the
command line, where every user of the machine could read them. ``--check`` writes, reads and
deletes a probe object before saving. The change applies to archives that finish from then on;
earlier ones stay where they are (docs/storage.md).
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
from archivist.storage.backends import azure_settings, open_store
from archivist.storage.base import StorageError
from archivist.store.projects import ProjectRepository
from archivist.store.storage_targets import AZURE, LOCAL, S3, StorageTarget, StorageTargetRepository


def add_project_commands(psub: Any) -> None:
    st = psub.add_parser("set-storage", help="store a project's archives locally, in S3-compatible storage or in "
                                             "Azure Blob Storage")
    st.add_argument("api_key")
    kind = st.add_mutually_exclusive_group(required=True)
    kind.add_argument("--local", action="store_true", help="files under the data directory (the default)")
    kind.add_argument("--s3-bucket", help="S3 bucket name")
    kind.add_argument("--azure-container", help="Azure Blob Storage container name")
    st.add_argument("--s3-endpoint-url", help="for S3-compatible services (MinIO, Ceph, R2 …)")
    st.add_argument("--s3-region")
    st.add_argument("--s3-prefix", default="", help="key prefix, e.g. 'recordings/'")
    st.add_argument("--s3-access-key-id", help="default: boto3's credential chain (env, files, role)")
    secret = st.add_mutually_exclusive_group()
    secret.add_argument("--s3-secret-access-key-env", metavar="VAR",
                        help="read the secret access key from this environment variable")
    secret.add_argument("--s3-secret-access-key-stdin", action="store_true",
                        help="read the secret access key from the first line of stdin")
    azure = st.add_argument_group("Azure (one of: a connection string; an account and its key; a SAS token)")
    azure_secret = azure.add_mutually_exclusive_group()
    azure_secret.add_argument("--azure-connection-string-env", metavar="VAR",
                              help="read the storage account's connection string from this environment variable")
    azure_secret.add_argument("--azure-account-key-env", metavar="VAR",
                              help="read the account key of --azure-account from this environment variable")
    azure_secret.add_argument("--azure-sas-token-env", metavar="VAR",
                              help="read a SAS token (container or account, read+write+delete) from this variable")
    azure_secret.add_argument("--azure-secret-stdin", action="store_true",
                              help="read the connection string, account key or SAS token (--azure-secret-kind) "
                                   "from the first line of stdin")
    azure.add_argument("--azure-secret-kind", choices=["connection-string", "account-key", "sas-token"],
                       default="connection-string", help="what --azure-secret-stdin reads")
    azure.add_argument("--azure-account", help="storage account name (with --azure-account-key-env)")
    azure.add_argument("--azure-account-url", help="default https://{account}.blob.core.windows.net; needed "
                                                   "with a SAS token, and for Azurite")
    azure.add_argument("--azure-prefix", default="", help="blob name prefix, e.g. 'recordings/'")
    st.add_argument("--check", action="store_true", help="write, read and delete a probe object first")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_set_storage)
    show = psub.add_parser("storage", help="show a project's current storage (secrets masked)")
    show.add_argument("api_key")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_storage)


def _secret(args: argparse.Namespace) -> str | None:
    if args.s3_secret_access_key_env:
        return _env_secret(args.s3_secret_access_key_env)
    if args.s3_secret_access_key_stdin:
        return sys.stdin.readline().strip() or None
    return None


def _env_secret(var: str) -> str:
    value = os.environ.get(var, "")
    if not value:
        raise ValueError(f"${var} is empty")
    return value


def _azure_target(args: argparse.Namespace) -> StorageTarget:
    """The Azure target the options describe; ValueError when they do not add up."""
    secrets: dict[str, str | None] = {"connection-string": None, "account-key": None, "sas-token": None}
    if args.azure_connection_string_env:
        secrets["connection-string"] = _env_secret(args.azure_connection_string_env)
    elif args.azure_account_key_env:
        secrets["account-key"] = _env_secret(args.azure_account_key_env)
    elif args.azure_sas_token_env:
        secrets["sas-token"] = _env_secret(args.azure_sas_token_env).lstrip("?")
    elif args.azure_secret_stdin:
        secrets[args.azure_secret_kind] = sys.stdin.readline().strip().lstrip("?") or None
    if secrets["account-key"] and not args.azure_account:
        raise ValueError("an account key needs --azure-account")
    if not any(secrets.values()):
        raise ValueError("give a connection string, an account key or a SAS token (--azure-…-env or "
                         "--azure-secret-stdin)")
    target = StorageTarget(
        id="", project_key=args.api_key, backend=AZURE, bucket=args.azure_container,
        endpoint_url=args.azure_account_url, access_key_id=args.azure_account,
        secret_access_key=secrets["account-key"], connection_string=secrets["connection-string"],
        sas_token=secrets["sas-token"], prefix=args.azure_prefix,
    )
    azure_settings(target)  # the same checks the server makes
    return target


async def _probe(target: StorageTarget) -> None:
    store = open_store(target, max_attempts=1)
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
        target = _azure_target(args) if args.azure_container else _s3_or_local(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check and target.backend != LOCAL:
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


def _s3_or_local(args: argparse.Namespace) -> StorageTarget:
    secret = _secret(args)
    if bool(args.s3_access_key_id) != bool(secret) and not args.local:
        raise ValueError("give both --s3-access-key-id and a secret (--s3-secret-access-key-env/-stdin), "
                         "or neither (boto3's credential chain)")
    return StorageTarget(
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


def cmd_storage(args: argparse.Namespace, settings: config.Settings) -> int:
    async def go(engine: AsyncEngine) -> StorageTarget | None:
        return await StorageTargetRepository(engine).current(args.api_key)

    _show(run_db(settings, go), args.api_key, args.json)
    return 0
