"""``/metrics`` in the Prometheus text format (``prometheus-client``), collected at scrape time.

Nothing is counted along the way for it: at each scrape, :class:`ArchivistCollector` reads the
live objects of this node (rooms, connections, streams, subscriptions, the recorders' CPU and
lag, the event-loop monitor, the webhook worker's attempt counts) and a few grouped counts of
the database (archives by status, archive files by state, the webhook outbox), and the process
collectors of ``prometheus-client`` add CPU, memory and file descriptors. docs/operations.md
describes each metric and the alerts to set.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from archivist import __version__
from archivist.archives.status import ArchiveStatus
from archivist.monitor import BUCKETS
from archivist.storage.file_states import FileState
from archivist.store.counts import StoreCounts, store_counts
from archivist.store.outbox import DELIVERED, FAILED, PENDING

if TYPE_CHECKING:
    from archivist.app import Services


class ArchivistCollector(Collector):
    """The metrics of one scrape: this node's live objects, and the store's ``counts``."""

    def __init__(self, services: Services, counts: StoreCounts, now_ms: int) -> None:
        self._svc = services
        self._counts = counts
        self._now_ms = now_ms

    def collect(self) -> Iterator[Metric]:
        yield from self._live()
        yield from self._recording()
        yield from self._loop()
        yield from self._archives()
        yield from self._webhooks()
        info = GaugeMetricFamily("archivist_info", "This server's version (always 1).", labels=["version"])
        info.add_metric([__version__], 1)
        yield info

    def _live(self) -> Iterator[Metric]:
        rooms = self._svc.rooms.all()
        connections = [c for r in rooms for c in r.connections.values() if not c.closed]
        streams = [s for r in rooms for s in r.streams()]
        subscriptions = [sub for s in streams for sub in s.subscriptions.values() if not sub.closed]
        for name, doc, value in (
            ("archivist_sessions", "Live sessions (rooms) on this node.", len(rooms)),
            ("archivist_connections", "Clients connected to this node's sessions.", len(connections)),
            ("archivist_streams", "Streams published in this node's sessions.", len(streams)),
            ("archivist_subscriptions", "Subscribers: client subscriptions to streams (the recorder not included).",
             len(subscriptions)),
        ):
            yield GaugeMetricFamily(name, doc, value=value)

    def _recording(self) -> Iterator[Metric]:
        launcher = self._svc.launcher
        load = launcher.load()
        yield GaugeMetricFamily("archivist_recordings", "Recorders running on this node.", value=len(load))
        yield GaugeMetricFamily("archivist_recordings_failed", "Recorders that failed (a full disk) whose archive "
                                "is not stopped yet.", value=launcher.failed_count)
        space = launcher.disk_space()
        yield GaugeMetricFamily("archivist_data_disk_free_bytes", "Free space of the data directory's file system.",
                                value=space.free_bytes)
        cpu = CounterMetricFamily("archivist_recording_cpu_seconds",
                                  "CPU time of each running recorder's worker (decode, compose, encode, mux).",
                                  labels=["archive_id", "project"])
        lag = GaugeMetricFamily("archivist_recording_lag_seconds",
                                "How far each recorder's output trails the wall clock (its latency plus any backlog).",
                                labels=["archive_id", "project"])
        behind = GaugeMetricFamily("archivist_recording_picture_behind_seconds",
                                   "How far each recorder's picture was behind when last rendered.",
                                   labels=["archive_id", "project"])
        degraded = GaugeMetricFamily("archivist_recording_degraded", "1 while a recorder skips pictures to keep up "
                                     "(fewer frames, all the sound), else 0.", labels=["archive_id", "project"])
        dropped = CounterMetricFamily("archivist_recording_dropped_inputs",
                                      "Frames and packets a recorder dropped because its inbox was full.",
                                      labels=["archive_id", "project", "kind"])
        for rec in load:
            cpu.add_metric([rec.archive_id, rec.project_key], rec.cpu_seconds)
            lag.add_metric([rec.archive_id, rec.project_key], rec.lag_seconds)
            behind.add_metric([rec.archive_id, rec.project_key], rec.picture_behind_seconds)
            degraded.add_metric([rec.archive_id, rec.project_key], int(rec.degraded))
            for kind, n in sorted(rec.dropped.items()):
                dropped.add_metric([rec.archive_id, rec.project_key, kind], n)
        yield cpu
        yield lag
        yield behind
        yield degraded
        yield dropped
        yield CounterMetricFamily(
            "archivist_recorder_cpu_seconds", "CPU time of every recorder of this process, running or finished.",
            value=launcher.finished_cpu_seconds + sum(rec.cpu_seconds for rec in load),
        )

    def _loop(self) -> Iterator[Metric]:
        monitor = self._svc.monitor
        cumulative, buckets = 0, []
        for bound, n in zip((*BUCKETS, float("inf")), monitor.bucket_counts, strict=True):
            cumulative += n
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        yield HistogramMetricFamily(
            "archivist_event_loop_lag_seconds",
            f"How late the event loop ran a callback that was due (sampled every {monitor.interval} s).",
            buckets=buckets, sum_value=monitor.lag_sum,
        )
        yield GaugeMetricFamily("archivist_event_loop_lag_max_seconds",
                                "The largest event-loop lag of the last minute.", value=monitor.recent_max())

    def _archives(self) -> Iterator[Metric]:
        counts = self._counts
        archives = GaugeMetricFamily("archivist_archives", "Archives by status (the whole deployment).",
                                     labels=["status"])
        for status in ArchiveStatus:
            archives.add_metric([status.value], counts.archives.get(status.value, 0))
        yield archives
        files = GaugeMetricFamily(
            "archivist_archive_files", "Archive files by storage state (uploading, fallback: the upload keeps "
            "failing and the local copy is served, removing, …) (the whole deployment).", labels=["state"])
        for state in FileState:
            files.add_metric([state.value], counts.files.count.get(state.value, 0))
        yield files
        yield GaugeMetricFamily(
            "archivist_uploads_pending", "Archive files waiting for their upload (uploading or fallback).",
            value=sum(counts.files.count.get(s.value, 0) for s in (FileState.UPLOADING, FileState.FALLBACK)),
        )
        yield GaugeMetricFamily(
            "archivist_upload_oldest_pending_seconds", "Age of the oldest archive file still waiting for its upload.",
            value=self._age(counts.files.oldest),
        )
        live = self._svc.files.live
        yield GaugeMetricFamily("archivist_live_uploads", "Archives this node uploads while they record.",
                                value=live.running)
        outcomes = CounterMetricFamily(
            "archivist_live_uploads_finished", "Uploads while recording this process finished, by outcome "
            "(complete; failed: the archive is uploaded after stop instead; dropped: not wanted any more).",
            labels=["outcome"])
        for outcome, n in live.outcomes.items():
            outcomes.add_metric([outcome], n)
        yield outcomes

    def _webhooks(self) -> Iterator[Metric]:
        outbox = self._counts.outbox
        rows = GaugeMetricFamily("archivist_webhook_outbox", "Status-callback deliveries by state (pending: not "
                                 "delivered yet; failed: given up) (the whole deployment).", labels=["state"])
        for state in (PENDING, DELIVERED, FAILED):
            rows.add_metric([state], outbox.count.get(state, 0))
        yield rows
        yield GaugeMetricFamily("archivist_webhook_oldest_pending_seconds",
                                "Age of the oldest status-callback event not delivered yet.",
                                value=self._age(outbox.oldest))
        attempts = CounterMetricFamily("archivist_webhook_attempts", "Status-callback requests this process made, by "
                                       "outcome (failed: will be retried; given_up: failed for the last time).",
                                       labels=["outcome"])
        for outcome, n in self._svc.delivery_worker.attempts.items():
            attempts.add_metric([outcome], n)
        yield attempts

    def _age(self, oldest: int | None) -> float:
        return max(0.0, (self._now_ms - oldest) / 1000) if oldest is not None else 0.0


async def render(services: Services, accept: str | None = None) -> tuple[bytes, str]:
    """One scrape: the store's counts (awaited), then every collector, in the format the
    scraper's ``Accept`` asks for (the classic text format by default, else OpenMetrics);
    returns the body and its content type."""
    counts = await store_counts(services.engine)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ArchivistCollector(services, counts, int(time.time() * 1000)))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type
