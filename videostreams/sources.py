"""Video sources through OpenCV (FFmpeg): open, read, sample, and reconnect with back-off.

A source is an RTSP or HTTP(S) URL (MJPEG or any stream FFmpeg reads), a video file path, or a
local device index ("0"). `CameraReader` is the thread that owns one camera's capture: it samples
frames at the camera's rate into the bounded `FrameQueue` and, when the source fails to open or
the stream drops (a file ends), waits with exponential back-off (capped) and tries again. It
touches no database: the runner reads its status fields and writes them to the Camera row.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np

from .outbound import OutboundRefused, check_camera_source, redact
from .processing import CameraConfig, Frame
from .queues import FrameQueue

STARTING, RUNNING, RECONNECTING, ERROR, STOPPED = "starting", "running", "reconnecting", "error", "stopped"


def is_stream(source: str) -> bool:
    return "://" in source


def is_device(source: str) -> bool:
    return source.strip().isdigit()


def open_capture(source: str, *, open_timeout: float = 10.0, read_timeout: float = 10.0) -> cv2.VideoCapture:
    """A VideoCapture for the source (check isOpened()); network streams get open/read timeouts."""
    source = source.strip()
    if is_device(source):
        return cv2.VideoCapture(int(source))
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout * 1000), cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout * 1000)]
    return cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)


class Sampler:
    """Keeps frames at most `fps` per second apart, by their timestamps (0 or less: every frame)."""

    def __init__(self, fps: float):
        self.fps = fps
        self._last: float | None = None

    def take(self, timestamp: float) -> bool:
        if self.fps <= 0 or self._last is None or timestamp - self._last >= 0.999 / self.fps:
            self._last = timestamp
            return True
        return False


def file_frames(path: str, sample_fps: float) -> Iterator[tuple[int, float, np.ndarray]]:
    """(frame index, position in seconds, BGR frame) of a video file's sampled frames, as fast as decoded."""
    capture = open_capture(path)
    if not capture.isOpened():
        raise OSError(f"cannot open video {path}")
    sampler = Sampler(sample_fps)
    index = 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                return
            position = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if sampler.take(position):
                yield index, position, image
            index += 1
    finally:
        capture.release()


class BackOff:
    """Exponential delays: minimum, doubled after each failure, capped at maximum."""

    def __init__(self, minimum: float, maximum: float):
        self.minimum, self.maximum = minimum, maximum
        self.current = minimum

    def next(self) -> float:
        delay = self.current
        self.current = min(self.current * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self.current = self.minimum


class CameraReader(threading.Thread):
    """One camera's capture loop. `config` may be replaced while it runs (a new sampling rate applies
    at once); a new source needs a new reader (the runner does that)."""

    def __init__(
        self,
        config: CameraConfig,
        queue: FrameQueue,
        *,
        backoff_min: float,
        backoff_max: float,
        open_timeout: float,
        error_after: int,
    ):
        super().__init__(name=f"camera-{config.name}", daemon=True)
        self.config = config
        self.queue = queue
        self.backoff = BackOff(backoff_min, backoff_max)
        self.open_timeout = open_timeout
        self.error_after = error_after
        self._stop_event = threading.Event()
        # Status, read by the runner (plain attributes: each write is atomic under the GIL).
        self.state = STARTING
        self.last_error = ""
        self.last_frame_at: float | None = None
        self.frames_read = 0
        self.reconnects = 0
        self.delays: list[float] = []  # the back-off waits so far (the last few)
        self._failures_in_row = 0

    def stop(self) -> None:
        self._stop_event.set()

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def run(self) -> None:
        index = 0
        while not self.stopping:
            source = self.config.source
            try:
                check_camera_source(source)  # again at each opening: the policy or the name's address may have changed
            except OutboundRefused as exc:
                self._failed(f"refused: {exc}")
                continue
            capture = open_capture(source, open_timeout=self.open_timeout, read_timeout=self.open_timeout)
            if not capture.isOpened():
                capture.release()
                self._failed(f"cannot open {redact(source)}")
                continue
            file_source = not is_stream(source) and not is_device(source)
            sampler = Sampler(self.config.sample_fps)
            started = time.time()
            error = "the stream stopped sending frames"
            try:
                while not self.stopping:
                    ok, image = capture.read()
                    if not ok:
                        error = "end of file" if file_source else "lost the stream (read failed)"
                        break
                    now = time.time()
                    if file_source:
                        # A file stands in for a camera: play it at its own speed, not as fast as it decodes.
                        due = started + capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                        if due > now and self._stop_event.wait(due - now):
                            break
                        now = time.time()
                    self.state = RUNNING
                    self._failures_in_row = 0
                    self.backoff.reset()
                    self.frames_read += 1
                    self.last_frame_at = now
                    sampler.fps = self.config.sample_fps
                    if sampler.take(now):
                        self.queue.put(self.config.id, Frame(camera_id=self.config.id, image=image, timestamp=now, index=index))
                    index += 1
            except Exception as exc:  # a decoder failure must not kill the reader
                error = f"read error: {exc}"
            finally:
                capture.release()
            if not self.stopping:
                self._failed(f"{error}: {redact(source)}")
        self.state = STOPPED

    def _failed(self, message: str) -> None:
        self.reconnects += 1
        self._failures_in_row += 1
        self.last_error = message
        self.state = ERROR if self._failures_in_row >= self.error_after else RECONNECTING
        delay = self.backoff.next()
        self.delays = (self.delays + [delay])[-20:]
        self._stop_event.wait(delay)
