"""Deliver the outbox: HTTP POST each event, retry with exponential backoff, keep a log.

The worker polls the outbox (every ``webhook_poll_interval`` seconds, and at once when an
archive's status changes), takes a lease on each due row, and POSTs it. Only the oldest
pending event of an (archive, URL) pair is ever due, so a receiver gets one archive's events in
order; different archives and different URLs proceed independently, up to ``concurrency``
requests at a time. A 2xx answer delivers the event; anything else (status, timeout, refused
connection) is logged as an attempt and retried after ``webhook_backoff * 2^(n-1)`` seconds
(capped at ``webhook_backoff_max``) until ``webhook_give_up_after`` seconds have passed since
the event, when it is given up (``failed``; ``archivist webhooks retry`` queues it again).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from archivist import __version__, logs
from archivist.archives.model import Archive
from archivist.clock import now_ms
from archivist.config import Settings
from archivist.jobs import LeasedJobRunner
from archivist.store.outbox import DELIVERED, FAILED, PENDING, Attempt, Delivery, OutboxRepository
from archivist.webhooks import targets
from archivist.webhooks.payloads import for_delivery
from archivist.webhooks.signatures import ATTEMPT_HEADER, DELIVERY_ID_HEADER, signed_headers

log = logs.get(__name__)

SecretLookup = Callable[[str], Awaitable[str | None]]
"""Project key → the secret its callbacks are signed with (the API secret)."""

PURGE_EVERY = 3600.0


def backoff_ms(settings: Settings, attempt: int) -> int:
    delay = min(settings.webhook_backoff_max, settings.webhook_backoff * (2 ** max(0, attempt - 1)))
    return int(delay * random.uniform(0.9, 1.1) * 1000)


def _host(url: str) -> str:
    """Only the host of a callback URL is logged (its path or query may hold a receiver's token)."""
    return urlsplit(url).netloc


class DeliveryWorker(LeasedJobRunner[Delivery]):
    name = "webhook-delivery"

    def __init__(
        self,
        outbox: OutboxRepository,
        secrets: SecretLookup,
        url_for: Callable[[str], str],
        settings: Settings,
        *,
        concurrency: int = 8,
    ) -> None:
        super().__init__(concurrency, max(0.02, settings.webhook_poll_interval))
        self._outbox = outbox
        self._secrets = secrets
        self._url_for = url_for
        self._settings = settings
        self._busy_queues: set[tuple[str, str]] = set()
        self._client: httpx.AsyncClient | None = None
        self._last_purge = 0.0
        self.attempts = {"delivered": 0, "failed": 0, "given_up": 0}
        """Attempts made by this process, by outcome (``failed``: will be retried), for ``/metrics``."""

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._settings.webhook_timeout,
                follow_redirects=False,
                headers={"User-Agent": f"Archivist/{__version__} (status callbacks)"},
            )
        super().start()

    async def on_status(self, _archive: Archive) -> None:
        """An :class:`ArchiveService` listener: the change's events are already in the outbox."""
        self.wake()

    async def close(self) -> None:
        await super().close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # ---- the jobs: one (archive, URL) queue delivers in order ------------------------------
    def key(self, job: Delivery) -> str:
        return job.id

    async def due(self, now: int, limit: int) -> list[Delivery]:
        return await self._outbox.due(now, limit=limit)

    def blocked(self, job: Delivery) -> bool:
        return (job.archive_id, job.url) in self._busy_queues

    async def claim(self, job: Delivery, now: int) -> bool:
        lease = now + int((self._settings.webhook_timeout + 5) * 1000)
        if not await self._outbox.claim(job.id, now, lease):
            return False
        self._busy_queues.add((job.archive_id, job.url))
        return True

    async def process(self, job: Delivery) -> None:
        await self.deliver(job)

    def finished(self, job: Delivery) -> None:
        self._busy_queues.discard((job.archive_id, job.url))

    async def release(self, keys: list[str]) -> None:
        await self._outbox.release(keys)  # the next start retries them at once

    async def housekeeping(self) -> None:
        await self._maybe_purge()

    async def _maybe_purge(self) -> None:
        if time.monotonic() - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = time.monotonic()
        keep_ms = int(self._settings.webhook_log_retention_days * 86400 * 1000)
        purged = await self._outbox.purge(now_ms() - keep_ms)
        if purged:
            log.info("webhook delivery log purged", rows=purged)

    # ---- one attempt -----------------------------------------------------------------------
    async def deliver(self, delivery: Delivery) -> str:
        """POST one event once, record the attempt; return the row's new state."""
        assert self._client is not None, "start() the worker first"
        attempt_no = delivery.attempts + 1
        status_code: int | None = None
        error: str | None = None
        refused = False
        started = time.monotonic()
        attempted_at = now_ms()
        secret = await self._secrets(delivery.project_key)
        if secret is None:
            error = "project no longer exists"
        else:
            body = for_delivery(delivery.payload, self._url_for)
            headers = {
                "Content-Type": "application/json",
                DELIVERY_ID_HEADER: delivery.id,
                ATTEMPT_HEADER: str(attempt_no),
                **signed_headers(secret, delivery.event_id, body),
            }
            try:
                target = await targets.resolve_public(
                    delivery.url, allow_private=self._settings.callback_allow_private
                )
                if target.host_header is not None:
                    headers["Host"] = target.host_header
                extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
                response = await self._client.post(target.url, content=body, headers=headers, extensions=extensions)
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}: {response.text[:200]}".strip()
            except targets.ForbiddenTarget as exc:  # given up at once: retrying cannot help
                error, refused = f"refused: {exc.message}"[:300], True
            except (httpx.HTTPError, OSError) as exc:  # OSError: the host's name did not resolve
                error = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
        duration_ms = int((time.monotonic() - started) * 1000)
        now = now_ms()
        if error is None:
            state, next_at = DELIVERED, now
        elif secret is None or refused or now - delivery.created_at >= self._settings.webhook_give_up_after * 1000:
            state, next_at = FAILED, now
        else:
            state, next_at = PENDING, now + backoff_ms(self._settings, attempt_no)
        await self._outbox.record(
            delivery,
            Attempt(attempt_no, attempted_at, status_code, error, duration_ms),
            state=state,
            next_attempt_at=next_at,
        )
        fields = {
            "delivery": delivery.id,
            "event_id": delivery.event_id,
            "archive": delivery.archive_id,
            "status": delivery.archive_status,
            "target": _host(delivery.url),
            "attempt": attempt_no,
            "status_code": status_code,
        }
        self.attempts["delivered" if state == DELIVERED else "given_up" if state == FAILED else "failed"] += 1
        if state == DELIVERED:
            log.info("webhook delivered", **fields)
        elif state == FAILED:
            log.error("webhook given up", error=error, **fields)
        else:
            log.warning("webhook attempt failed; will retry", error=error,
                        retry_in_s=round((next_at - now) / 1000, 2), **fields)
        return state
