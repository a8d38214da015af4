"""The /metrics exposition: this node's processes' instruments plus gauges read at scrape time.

Process instruments (faceapp.metrics) come from the default registry in a single process, or are added up across
this node's processes from PROMETHEUS_MULTIPROC_DIR. The cluster gauges are read when Prometheus scrapes, from the
database and the queue broker, so every node reports the same values for them (use max() across nodes): queue
depth, tasks in progress and the oldest task's age per queue; each camera's status, rates, drops, reconnects and
lease owner; leases per runner; webhook deliveries by status; database connections and reachability.
A failing source never fails the scrape: it reports `faceapp_scrape_error{source}` 1 instead.
"""
from __future__ import annotations

import logging
import os
import time

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


class ClusterCollector:
    """Gauges read from the database and the broker at each scrape."""

    def collect(self):
        errors = GaugeMetricFamily("faceapp_scrape_error", "1 when a source of the cluster gauges could not be read.", labels=["source"])
        for source, read in (("database", self._database), ("queues", self._queues), ("cameras", self._cameras),
                             ("webhooks", self._webhooks)):
            try:
                yield from read()
                errors.add_metric([source], 0)
            except Exception as exc:  # the database or Redis is down: say so, keep the rest of the scrape
                logger.warning("metrics: could not read %s: %s", source, exc)
                errors.add_metric([source], 1)
        yield errors

    @staticmethod
    def _database():
        from django.db import connection

        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT state, count(*) FROM pg_stat_activity WHERE datname = current_database() GROUP BY state"
            )
            rows = cursor.fetchall()
        up = GaugeMetricFamily("faceapp_database_up", "1 when the database answered this scrape.")
        up.add_metric([], 1)
        latency = GaugeMetricFamily("faceapp_database_query_seconds", "Time of the scrape's database query.")
        latency.add_metric([], time.perf_counter() - started)
        connections = GaugeMetricFamily(
            "faceapp_database_connections", "Connections to faceapp's database (all nodes), by state.", labels=["state"]
        )
        for state, count in rows:
            connections.add_metric([state or "unknown"], count)
        yield from (up, latency, connections)

    @staticmethod
    def _queues():
        from faceapp import taskqueue

        depth = GaugeMetricFamily("faceapp_queue_depth", "Tasks waiting in each queue.", labels=["queue"])
        running = GaugeMetricFamily("faceapp_queue_in_progress", "Tasks taken by a worker and not yet acknowledged.", labels=["queue"])
        age = GaugeMetricFamily("faceapp_queue_oldest_task_age_seconds", "Age of the oldest waiting task (0: none).", labels=["queue"])
        for stats in taskqueue.stats():
            depth.add_metric([stats.queue], stats.waiting)
            running.add_metric([stats.queue], stats.in_progress)
            age.add_metric([stats.queue], stats.oldest_age_seconds)
        yield from (depth, running, age)

    @staticmethod
    def _cameras():
        from django.utils import timezone

        from videostreams.models import Camera

        now = timezone.now()
        status = GaugeMetricFamily("faceapp_camera_status", "1 for each camera's current status.", labels=["camera", "status"])
        fps = GaugeMetricFamily("faceapp_camera_frames_per_second", "Frames analysed per second (last status write).", labels=["camera"])
        faces = GaugeMetricFamily("faceapp_camera_faces_per_second", "Faces per second (last status write).", labels=["camera"])
        dropped = GaugeMetricFamily("faceapp_camera_frames_dropped", "Frames dropped under overload since the current runner took the camera.", labels=["camera"])
        reconnects = GaugeMetricFamily("faceapp_camera_reconnects", "Reconnects since the current runner took the camera.", labels=["camera"])
        staleness = GaugeMetricFamily("faceapp_camera_status_age_seconds", "Seconds since the runner last wrote the camera's status.", labels=["camera"])
        owner = GaugeMetricFamily("faceapp_camera_lease", "1 for the runner holding each camera's lease (owner '' when none).", labels=["camera", "owner"])
        lease_left = GaugeMetricFamily("faceapp_camera_lease_remaining_seconds", "Seconds left on each camera's lease (0: none or expired).", labels=["camera"])
        per_runner: dict[str, int] = {}
        for camera in Camera.objects.filter(enabled=True).only(
            "name", "status", "frames_per_second", "faces_per_second", "frames_dropped", "reconnects",
            "status_updated_at", "lease_owner", "lease_expires_at",
        ):
            name = camera.name
            status.add_metric([name, camera.status], 1)
            fps.add_metric([name], camera.frames_per_second or 0.0)
            faces.add_metric([name], camera.faces_per_second or 0.0)
            dropped.add_metric([name], camera.frames_dropped or 0)
            reconnects.add_metric([name], camera.reconnects or 0)
            if camera.status_updated_at:
                staleness.add_metric([name], (now - camera.status_updated_at).total_seconds())
            live = bool(camera.lease_owner and camera.lease_expires_at and camera.lease_expires_at > now)
            owner.add_metric([name, camera.lease_owner if live else ""], 1)
            lease_left.add_metric([name], (camera.lease_expires_at - now).total_seconds() if live else 0.0)
            if live:
                per_runner[camera.lease_owner] = per_runner.get(camera.lease_owner, 0) + 1
        runners = GaugeMetricFamily("faceapp_runner_cameras", "Cameras each runner holds a live lease on.", labels=["owner"])
        for name, count in sorted(per_runner.items()):
            runners.add_metric([name], count)
        yield from (status, fps, faces, dropped, reconnects, staleness, owner, lease_left, runners)

    @staticmethod
    def _webhooks():
        from django.db.models import Count

        from videostreams.models import WebhookDelivery

        deliveries = GaugeMetricFamily("faceapp_webhook_deliveries", "Webhook deliveries in the delivery log, by status.", labels=["status"])
        counts = dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("id")))
        for status in WebhookDelivery.Status.values:
            deliveries.add_metric([status], counts.get(status, 0))
        yield deliveries


def registry() -> CollectorRegistry:
    """A registry for one scrape: this node's processes' instruments and the cluster gauges."""
    directory = multiprocess_dir()
    if directory:
        from prometheus_client import multiprocess

        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape, path=directory)
    else:
        scrape = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):  # this process's instruments (and the process/GC collectors)
            scrape.register(collector)
    scrape.register(ClusterCollector())
    return scrape


def render() -> bytes:
    import faceapp.metrics  # noqa: F401  (the instruments exist, with their HELP, even before their first use)

    return generate_latest(registry())
