"""What an operator asks of a camera outside the runner: does its source open, and what does it show now.

`probe` opens the source the way the runner does (OpenCV/FFmpeg, with timeouts), reads one frame and closes
it again: the "test connection" button and the fresh snapshot of the operator pages. A local device that a
runner already holds usually cannot be opened a second time; the answer then says so.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import cv2

from .outbound import OutboundRefused, check_camera_source
from .sources import is_device, is_stream, open_capture, redact

PROBE_TIMEOUT_SECONDS = 8.0
SNAPSHOT_MAX_SIDE = 1280


@dataclass(frozen=True)
class Probe:
    ok: bool
    message: str  # what an operator reads: "Connected: 1280×720" or why not
    width: int = 0
    height: int = 0
    jpeg: bytes = b""  # one frame, at most SNAPSHOT_MAX_SIDE pixels wide or high
    seconds: float = 0.0


def probe(source: str, *, timeout: float = PROBE_TIMEOUT_SECONDS) -> Probe:
    """Open `source`, read one frame, close it: whether it works, and that frame as a JPEG."""
    source = (source or "").strip()
    if not source:
        return Probe(False, "No source given.")
    try:
        check_camera_source(source)
    except OutboundRefused as exc:
        return Probe(False, f"Refused: {exc}")
    started = time.monotonic()
    capture = open_capture(source, open_timeout=timeout, read_timeout=timeout)
    try:
        if not capture.isOpened():
            hint = " (a local camera that a runner already uses cannot be opened twice)" if is_device(source) else ""
            return Probe(False, f"Cannot open {redact(source)}{hint}.", seconds=time.monotonic() - started)
        ok, image = capture.read()
    finally:
        capture.release()
    seconds = time.monotonic() - started
    if not ok or image is None:
        kind = "stream" if is_stream(source) else "source"
        return Probe(False, f"Opened {redact(source)}, but the {kind} sent no frame.", seconds=seconds)
    height, width = image.shape[:2]
    scale = min(1.0, SNAPSHOT_MAX_SIDE / max(width, height))
    if scale < 1.0:
        image = cv2.resize(image, (int(width * scale), int(height * scale)), interpolation=cv2.INTER_AREA)
    encoded, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return Probe(True, f"Connected: {width}×{height}, first frame in {seconds:.1f} s.", width, height,
                 jpeg.tobytes() if encoded else b"", seconds)
