"""Command line: ``archivist serve | projects create/list | migrate | archives … | sample``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from archivist import config, logs
from archivist.store.db import open_database
from archivist.store.projects import Project, ProjectRepository


async def _with_projects(settings: config.Settings, fn: Any) -> Any:
    engine = await open_database(settings.db_url)
    try:
        return await fn(ProjectRepository(engine))
    finally:
        await engine.dispose()


async def ensure_default_project(settings: config.Settings) -> Project | None:
    """First start on an empty data directory: create a development project and return it."""

    async def run(repo: ProjectRepository) -> Project | None:
        key, secret = settings.sample_api_key, settings.sample_api_secret
        if key and secret:  # API_KEY + API_SECRET (platform deploys): that project, created once
            return None if await repo.get(key) else await repo.create("default", api_key=key, api_secret=secret)
        if await repo.all():
            return None
        return await repo.create("default")

    result: Project | None = await _with_projects(settings, run)
    return result


def _print_project(project: Project, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"apiKey": project.api_key, "apiSecret": project.api_secret, "name": project.name}))
    else:
        print(f"API key:    {project.api_key}\nAPI secret: {project.api_secret}\nname:       {project.name}")


def cmd_serve(args: argparse.Namespace, settings: config.Settings) -> int:
    import uvicorn

    from archivist.app import create_app

    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    if args.certfile:
        overrides["tls_certfile"] = args.certfile
    if args.keyfile:
        overrides["tls_keyfile"] = args.keyfile
    if args.forwarded_allow_ips:
        overrides["forwarded_allow_ips"] = args.forwarded_allow_ips
    settings = settings.replace(**overrides)
    if settings.callback_url:
        from archivist.webhooks import targets

        try:
            targets.check_url(settings.callback_url, allow_private=settings.callback_allow_private)
        except targets.ForbiddenTarget as exc:
            print(f"error: ARCHIVIST_CALLBACK_URL: {exc.message}", file=sys.stderr)
            return 2
    problem = _serve_problem(settings)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if settings.create_default_project:
        try:
            created = asyncio.run(ensure_default_project(settings))
        except ValueError as exc:  # API_KEY / API_SECRET not usable as a project's credentials
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if created is not None and settings.sample_api_key:
            print(f"Created the project {created.api_key} from API_KEY and API_SECRET", flush=True)
        elif created is not None:
            print("Created a development project (keep the secret safe):", flush=True)
            _print_project(created, False)
            print(flush=True)
    tls: dict[str, Any] = {}
    if settings.tls_certfile:
        tls = {"ssl_certfile": settings.tls_certfile, "ssl_keyfile": settings.tls_keyfile}
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        ws_ping_interval=5,
        ws_ping_timeout=10,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        **tls,
    )
    return 0


def _serve_problem(settings: config.Settings) -> str:
    """What keeps ``serve`` from starting (bad media network or TLS settings), or ''."""
    from pathlib import Path

    from archivist.media.ice import IceConfig, IceConfigError

    try:
        IceConfig.from_settings(settings)
    except IceConfigError as exc:
        return str(exc)
    cert, key = settings.tls_certfile, settings.tls_keyfile
    if bool(cert) != bool(key):
        return "TLS needs both --certfile and --keyfile (ARCHIVIST_TLS_CERTFILE, ARCHIVIST_TLS_KEYFILE)"
    for name, path in (("certificate", cert), ("key", key)):
        if path and not Path(path).is_file():
            return f"TLS {name} file {path} does not exist"
    return ""


def cmd_projects(args: argparse.Namespace, settings: config.Settings) -> int:
    if args.action == "create":

        async def create(repo: ProjectRepository) -> Project:
            return await repo.create(args.name, api_key=args.api_key, api_secret=args.api_secret)

        try:
            project: Project = asyncio.run(_with_projects(settings, create))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        _print_project(project, args.json)
        return 0

    async def list_all(repo: ProjectRepository) -> list[Project]:
        return await repo.all()

    projects: list[Project] = asyncio.run(_with_projects(settings, list_all))
    if args.json:
        print(json.dumps([{"apiKey": p.api_key, "name": p.name, "createdAt": p.created_at} for p in projects]))
    else:
        from archivist.cli_output import print_table

        print_table(("API KEY", "NAME"), ((p.api_key, p.name) for p in projects))
    return 0


def cmd_migrate(_args: argparse.Namespace, settings: config.Settings) -> int:
    from archivist.store.migrations import migrate

    async def run() -> str:
        engine = await open_database(settings.db_url)
        try:
            return await migrate(engine)
        finally:
            await engine.dispose()

    print(f"database at schema version {asyncio.run(run())}")
    return 0


def cmd_sample(args: argparse.Namespace, settings: config.Settings) -> int:
    """The sample app alone, configured like the spec's: API_KEY, API_SECRET, API_URL."""
    import os

    import uvicorn

    from archivist.sample import SampleConfig, SampleConfigError, create_sample_app

    try:
        sample_config = SampleConfig.from_env()
    except SampleConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    port = args.port or int(os.environ.get("PORT") or 4567)
    print(f"Sample app on http://{args.host}:{port}/ using the server at {sample_config.api_url}", flush=True)
    uvicorn.run(create_sample_app(sample_config), host=args.host, port=port, log_level=settings.log_level.lower())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archivist", description="Self-hosted session recording server")
    parser.add_argument("--data-dir", help="data directory (default: $ARCHIVIST_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1; $ARCHIVIST_HOST)")
    serve.add_argument("--port", type=int, help="port (default 8080; $PORT or $ARCHIVIST_PORT)")
    serve.add_argument("--certfile", help="PEM certificate (chain): serve HTTPS and WSS ($ARCHIVIST_TLS_CERTFILE)")
    serve.add_argument("--keyfile", help="PEM private key of --certfile ($ARCHIVIST_TLS_KEYFILE)")
    serve.add_argument(
        "--forwarded-allow-ips",
        help="proxies whose X-Forwarded-* headers are trusted, comma-separated or * "
        "($ARCHIVIST_FORWARDED_ALLOW_IPS; default $FORWARDED_ALLOW_IPS or 127.0.0.1)",
    )
    serve.set_defaults(func=cmd_serve)

    projects = sub.add_parser("projects", help="manage projects (API key + secret)")
    psub = projects.add_subparsers(dest="action", required=True)
    create = psub.add_parser("create", help="create a project and print its key and secret")
    create.add_argument("--name", default="project")
    create.add_argument("--api-key", help="use this decimal API key instead of a random one")
    create.add_argument("--api-secret", help="use this secret instead of a random one")
    create.add_argument("--json", action="store_true")
    lst = psub.add_parser("list", help="list projects")
    lst.add_argument("--json", action="store_true")
    projects.set_defaults(func=cmd_projects)
    from archivist import cli_storage, cli_webhooks

    cli_webhooks.add_project_commands(psub)  # set-callback
    cli_storage.add_project_commands(psub)  # set-storage, storage
    cli_webhooks.add_parser(sub)  # webhooks deliveries | retry

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(func=cmd_migrate)

    from archivist import cli_archives

    cli_archives.add_parser(sub)
    sample = sub.add_parser("sample", help="run only the sample app, against API_URL with API_KEY/API_SECRET")
    sample.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sample.add_argument("--port", type=int, help="port (default $PORT or 4567)")
    sample.set_defaults(func=cmd_sample)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.data_dir:
        from pathlib import Path

        overrides["data_dir"] = Path(args.data_dir)
    try:
        settings = config.load(**overrides)
    except config.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_json)
    result: int = args.func(args, settings)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
