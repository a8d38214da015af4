"""Prometheus metrics: the instruments every layer records into (faceapp.metrics, like faceapp.audit, is imported
by the lower apps too: the pipeline, the gallery search, the camera runner and the background tasks).

Instruments defined here are process-local and cheap. With several processes (gunicorn workers, django-q2 workers,
the camera runner) each writes into PROMETHEUS_MULTIPROC_DIR, which `manage.py serve` sets and empties at start,
and the exposition (faceapp.metrics.exposition) adds them up at scrape time, together with the gauges read from the
database and the queue broker then (queue depth and age, cameras, leases, webhook deliveries, connections).

Labels are kept bounded: endpoints by URL name (not path), stages and verdicts from fixed sets, cameras by name.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

# Seconds: 1 ms to 10 s covers a search (a few ms) as well as a 1080p detection on a busy CPU.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)

http_requests = Counter(
    "faceapp_http_requests", "HTTP requests answered, by endpoint (URL name), method and status code.",
    ["endpoint", "method", "status"],
)
http_request_seconds = Histogram(
    "faceapp_http_request_duration_seconds", "Time in Django per request, by endpoint (URL name) and method.",
    ["endpoint", "method"], buckets=LATENCY_BUCKETS,
)
pipeline_stage_seconds = Histogram(
    "faceapp_pipeline_stage_duration_seconds",
    "Time per pipeline stage and call: decode, detect, crop (and quality), embed, search; photos and camera frames alike.",
    ["stage"], buckets=LATENCY_BUCKETS,
)
faces_detected = Counter("faceapp_faces_detected", "Faces found by the detector (every photo and analysed frame).")
identifications = Counter(
    "faceapp_identifications",
    "Gallery searches by their decision: named (recognised), close (below the threshold), unknown, low_quality.",
    ["verdict"],
)
camera_frames = Counter("faceapp_camera_frames_analysed", "Camera frames analysed by this runner, per camera.", ["camera"])
camera_events = Counter("faceapp_camera_events", "Events written by this runner, per camera and whether matched.", ["camera", "matched"])
runner_processing_errors = Counter("faceapp_runner_processing_errors", "Frame batches whose processing failed (logged, skipped).")
runner_leases = Counter(
    "faceapp_runner_lease_changes", "Camera leases taken, lost to another runner, or released by this runner.", ["change"],
)
webhook_attempts = Counter(
    "faceapp_webhook_attempts", "Webhook POST attempts by outcome: delivered, failed (will retry), given_up.", ["outcome"],
)
tasks_requeued = Counter(
    "faceapp_tasks_requeued", "Background tasks given to the queue again after their worker died or the broker lost them.",
    ["queue"],
)
model_load_seconds = Gauge(
    "faceapp_model_load_seconds", "Time it took this process to load each ONNX model.", ["model"], multiprocess_mode="max",
)


@contextmanager
def stage_timer(stage: str):
    """Observe the duration of the block as one `stage` (decode, detect, crop, embed, search)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        pipeline_stage_seconds.labels(stage).observe(time.perf_counter() - started)


def observe_stages(timings_ms: dict[str, float], stages=("decode", "detect", "crop", "embed")) -> None:
    """Record the stage timings a pipeline call measured (milliseconds, as the Server-Timing header shows them)."""
    for stage in stages:
        if stage in timings_ms:
            pipeline_stage_seconds.labels(stage).observe(timings_ms[stage] / 1000)
