"""The camera runner: what `manage.py run_cameras` (and `serve`) runs.

Design (one process, threads):

    camera reader threads ──► bounded per-camera deques ──► one processing thread ──► events, rules
    (OpenCV capture, sampling,   (drop the oldest frame,      (round-robin across cameras,
     reconnect with back-off)     count the drop)               batched FaceNet, tracker, search)

Why an in-process queue and not a django-q2 task per frame: a frame is ~2.7 MB of pixels (720p),
and the tracker needs each camera's frames in order in one place. Through django-q2 every frame
would be pickled into the database and picked up by whichever worker, in any order, with each worker
holding its own copy of the models; the database would carry gigabytes an hour for nothing. In
process, a frame is a reference in a deque, the models are loaded once, the tracker sees frames in
order, and FaceNet gets batches across frames and cameras. Readers spend their time blocked in
FFmpeg (I/O, GIL released), so threads suffice; ONNX Runtime uses the cores for inference. What
may fail or be slow outside our control (webhooks) goes through django-q2 instead, so it never
blocks processing.

Overload: each camera's deque holds at most FACEAPP_CAMERA_QUEUE_FRAMES frames; a new frame drops
that camera's oldest, and the drops are counted and shown on the camera. Memory is bounded and
what is analysed stays recent. Frames are taken round-robin across cameras, so one camera (fast,
flooding, or stalled) never holds up the others.

Ownership: a runner claims a camera with a conditional UPDATE (enabled, and no lease or an expired
one or its own) that must change exactly one row, and renews the lease each time it writes the
camera's status; a runner that finds its lease taken stops that camera. Two runner processes
therefore never read one camera.

Sharing (several runners, on one machine or many): each runner writes a heartbeat (CameraRunner) at
every refresh and holds at most its fair share, ceil(enabled cameras / live runners). A new runner
makes the others' share smaller: they hand back what is above it (and broadcast, so that it is
taken at once), and it claims free cameras up to its share. A runner that dies stops renewing: its
heartbeat and its leases run out within FACEAPP_CAMERA_LEASE_SECONDS, the others' share grows and
they take its cameras over. A runner that stops cleanly releases its cameras at once. The owner of
each camera is its `lease_owner` (host:pid:id), in the API and the admin.

Every FACEAPP_CAMERA_REFRESH_SECONDS the runner re-reads the camera table, and at once when a
"cameras" broadcast arrives (faceapp/broadcast.py: a camera or rule changed on any node): new or
enabled cameras start, disabled or deleted ones stop, edited ones take their new settings (a new
source restarts the reader). No restart is needed.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import os
import threading
import time
import uuid

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from faceapp import broadcast, metrics

from . import mqtt
from .models import Camera, CameraRunner, Event
from .processing import CameraConfig, Processor
from .queues import FrameQueue
from .sources import CameraReader

logger = logging.getLogger(__name__)


def default_owner() -> str:
    """node:pid:random, the node being FACEAPP_NODE_NAME (the host name unless set)."""
    return f"{settings.FACEAPP_NODE_NAME}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Runner:
    def __init__(
        self,
        *,
        owner: str | None = None,
        refresh_seconds: float | None = None,
        lease_seconds: float | None = None,
        queue_frames: int | None = None,
        batch_frames: int | None = None,
        processor: Processor | None = None,
    ):
        self.owner = owner or default_owner()
        self.refresh_seconds = refresh_seconds or settings.FACEAPP_CAMERA_REFRESH_SECONDS
        self.lease_seconds = lease_seconds or settings.FACEAPP_CAMERA_LEASE_SECONDS
        self.batch_frames = batch_frames or settings.FACEAPP_CAMERA_BATCH_FRAMES
        self.queue = FrameQueue(queue_frames or settings.FACEAPP_CAMERA_QUEUE_FRAMES)
        self._processor = processor
        self.readers: dict[object, CameraReader] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by a "cameras" broadcast (a camera or rule changed on any node)
        self._forget: list = []  # cameras the processing thread must flush and drop
        self._forget_lock = threading.Lock()
        self._rates: dict[object, tuple[float, int, int]] = {}  # camera → (time, frames, faces) at last status
        self._processing_thread: threading.Thread | None = None
        self.processing_errors = 0
        self.refreshes = 0  # refreshes completed by run_forever: what a test waits on instead of sleeping
        self.started_at = timezone.now()

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def processor(self) -> Processor:
        if self._processor is None:
            self._processor = Processor()
        return self._processor

    def start(self) -> None:
        self.processor  # load the embedding model id before the threads start
        self._processing_thread = threading.Thread(target=self._process_loop, name="camera-processing", daemon=True)
        self._processing_thread.start()

    def run_forever(self) -> None:
        """Start, then refresh every refresh_seconds until stop() is called; then shut down cleanly."""
        self.start()
        broadcast.listen("cameras", self._wake.set)
        try:
            while not self._stop.is_set():
                try:
                    self.refresh()
                    self.refreshes += 1
                except Exception:
                    logger.exception("camera refresh failed; retrying")
                    close_old_connections()
                self._wake.wait(self.refresh_seconds)
                self._wake.clear()
        finally:
            self.shutdown()

    def stop(self) -> None:
        """Ask run_forever to return (safe from a signal handler or another thread)."""
        self._stop.set()
        self._wake.set()

    def shutdown(self) -> None:
        self._stop.set()
        for reader in self.readers.values():
            reader.stop()
        for reader in self.readers.values():
            reader.join(timeout=settings.FACEAPP_CAMERA_OPEN_TIMEOUT_SECONDS + 1)
        if self._processing_thread is not None:
            self._processing_thread.join(timeout=60)
        held = list(self.readers)
        for camera_id in held:
            self._release(camera_id)
        self.readers.clear()
        CameraRunner.objects.filter(owner=self.owner).delete()
        if held:
            broadcast.publish("cameras")  # the other runners take these cameras at once
        mqtt.close()
        connection.close()

    # --- ownership -------------------------------------------------------------------------------

    def claim(self, camera_id) -> bool:
        """Take the camera's lease: one conditional UPDATE that must change exactly one row."""
        now = timezone.now()
        free = Q(lease_owner="") | Q(lease_owner=self.owner) | Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
        changed = (
            Camera.objects.filter(pk=camera_id, enabled=True)
            .filter(free)
            .update(
                lease_owner=self.owner,
                lease_expires_at=now + dt.timedelta(seconds=self.lease_seconds),
                status=Camera.Status.STARTING,
                last_error="",
                frames_dropped=0,
                frames_still=0,
                reconnects=0,
                status_updated_at=now,
            )
        )
        if changed == 1:
            metrics.runner_leases.labels("taken").inc()
            # Events a runner that died left open (its tracks ended with it) are closed by the one taking over.
            Event.objects.filter(camera_id=camera_id, closed=False).update(closed=True)
        return changed == 1

    def _release(self, camera_id) -> None:
        metrics.runner_leases.labels("released").inc()
        Camera.objects.filter(pk=camera_id, lease_owner=self.owner).update(
            lease_owner="",
            lease_expires_at=None,
            status=Camera.Status.STOPPED,
            frames_per_second=0.0,
            faces_per_second=0.0,
            status_updated_at=timezone.now(),
        )

    # --- the refresh -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Sync with the camera table: start, stop, reconfigure; write status and renew leases; keep a fair share."""
        close_old_connections()
        share = self._heartbeat()
        cameras = {c.id: c for c in Camera.objects.filter(enabled=True).prefetch_related("watchlists")}
        for camera_id in list(self.readers):
            if camera_id not in cameras:
                logger.info("camera %s disabled or deleted: stopping it", self.readers[camera_id].config.name)
                self._stop_camera(camera_id)
                self._release(camera_id)
        for camera_id in list(self.readers):
            config = CameraConfig.from_camera(cameras[camera_id])
            reader = self.readers[camera_id]
            if config.source != reader.config.source:
                logger.info("camera %s has a new source: restarting its reader", config.name)
                self._stop_camera(camera_id)
                self._start_camera(config)
            elif config != reader.config:
                reader.config = config
                self.processor.set_config(config)
            if not self._write_status(camera_id):
                logger.warning("camera %s: lease lost to another runner; stopping it here", config.name)
                metrics.runner_leases.labels("lost").inc()
                self._stop_camera(camera_id)
        self._rebalance(cameras, share)

    def _heartbeat(self) -> int:
        """Say this runner is alive; → its fair share of the enabled cameras: ceil(cameras / live runners)."""
        now = timezone.now()
        CameraRunner.objects.update_or_create(
            owner=self.owner,
            defaults={"host": settings.FACEAPP_NODE_NAME, "pid": os.getpid(), "seen_at": now, "cameras": len(self.readers),
                      "started_at": self.started_at},
        )
        alive_since = now - dt.timedelta(seconds=self.lease_seconds)
        CameraRunner.objects.filter(seen_at__lt=now - dt.timedelta(seconds=10 * self.lease_seconds)).delete()
        runners = max(1, CameraRunner.objects.filter(seen_at__gte=alive_since).count())
        enabled = Camera.objects.filter(enabled=True).count()
        return math.ceil(enabled / runners)

    def _rebalance(self, cameras: dict, share: int) -> None:
        """Hand back what is above the share (the latest started first), then claim free cameras up to it."""
        excess = list(self.readers)[share:]
        for camera_id in excess:
            logger.info("camera %s handed back: this runner holds more than its share (%d)", self.readers[camera_id].config.name, share)
            self._stop_camera(camera_id)
            self._release(camera_id)
        if excess:
            broadcast.publish("cameras")  # the others take them at once (else at their next refresh)
        for camera_id, camera in cameras.items():
            if len(self.readers) >= share:
                break
            if camera_id not in self.readers and self.claim(camera_id):
                self._start_camera(CameraConfig.from_camera(camera))

    def _start_camera(self, config: CameraConfig) -> None:
        self.processor.set_config(config)
        reader = CameraReader(
            config,
            self.queue,
            backoff_min=settings.FACEAPP_CAMERA_BACKOFF_MIN_SECONDS,
            backoff_max=settings.FACEAPP_CAMERA_BACKOFF_MAX_SECONDS,
            open_timeout=settings.FACEAPP_CAMERA_OPEN_TIMEOUT_SECONDS,
            error_after=settings.FACEAPP_CAMERA_ERROR_AFTER,
        )
        self.readers[config.id] = reader
        self._rates[config.id] = (time.monotonic(), 0, 0)
        reader.start()
        logger.info("camera %s started", config.name)

    def _stop_camera(self, camera_id) -> None:
        reader = self.readers.pop(camera_id, None)
        if reader is not None:
            reader.stop()  # the thread ends after its current read (at most the read timeout)
        self.queue.remove(camera_id)
        with self._forget_lock:
            self._forget.append(camera_id)
        self._rates.pop(camera_id, None)

    def _write_status(self, camera_id) -> bool:
        """Write the reader's status and recent rates to the row, renewing the lease; False if lost."""
        reader = self.readers[camera_id]
        counters = self.processor.counters.get(camera_id)
        now = time.monotonic()
        frames, faces = (counters.frames, counters.faces) if counters else (0, 0)
        then, frames_then, faces_then = self._rates.get(camera_id, (now, frames, faces))
        elapsed = max(now - then, 1e-6)
        self._rates[camera_id] = (now, frames, faces)
        wall = timezone.now()
        changed = Camera.objects.filter(pk=camera_id, lease_owner=self.owner).update(
            status=reader.state,
            last_error=reader.last_error,
            last_frame_at=dt.datetime.fromtimestamp(reader.last_frame_at, tz=dt.timezone.utc) if reader.last_frame_at else None,
            frames_per_second=round((frames - frames_then) / elapsed, 2),
            faces_per_second=round((faces - faces_then) / elapsed, 2),
            frames_dropped=self.queue.dropped(camera_id),
            frames_still=counters.still if counters else 0,
            reconnects=reader.reconnects,
            status_updated_at=wall,
            lease_expires_at=wall + dt.timedelta(seconds=self.lease_seconds),
        )
        return changed == 1

    # --- the processing thread -------------------------------------------------------------------

    def _process_loop(self) -> None:
        processor = self.processor
        try:
            while not self._stop.is_set():
                try:
                    with self._forget_lock:
                        forget, self._forget = self._forget, []
                    for camera_id in forget:
                        processor.flush(camera_id)
                        if camera_id not in self.readers:  # not restarted meanwhile (a new source)
                            processor.forget(camera_id)
                    batch = self.queue.get_batch(self.batch_frames, timeout=0.5)
                    if batch:
                        processor.process(batch)
                    processor.expire(time.time())
                except Exception:
                    self.processing_errors += 1
                    metrics.runner_processing_errors.inc()
                    logger.exception("frame processing failed; going on with the next frames")
                    close_old_connections()
                    time.sleep(0.5)
        finally:
            try:
                processor.flush()
            except Exception:
                logger.exception("could not store the last tracks")
            connection.close()
