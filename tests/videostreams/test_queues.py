import time
import tracemalloc

import numpy as np

from tests.videostreams.conftest import clip_path
from videostreams.processing import CameraConfig
from videostreams.queues import FrameQueue
from videostreams.sources import CameraReader

FRAME_720P = (720, 1280, 3)


def test_overload_drops_the_oldest_frames_and_counts_them_instead_of_growing():
    queue = FrameQueue(per_camera=4)
    frame_bytes = int(np.prod(FRAME_720P))
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for i in range(200):  # 200 720p frames (550 MB if kept) offered to a consumer that takes none
            queue.put("cam", (i, np.full(FRAME_720P, i % 255, np.uint8)))
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(queue) == 4
    assert queue.dropped("cam") == 196
    assert after - before < 6 * frame_bytes  # the 4 queued frames, not 200
    assert peak - before < 7 * frame_bytes
    # What is left is the most recent frames, oldest first.
    assert [index for index, _ in queue.get_batch(10)] == [196, 197, 198, 199]


def test_a_flooding_camera_does_not_starve_the_others():
    queue = FrameQueue(per_camera=8)
    for i in range(100):
        queue.put("busy", ("busy", i))
    queue.put("quiet", ("quiet", 0))
    queue.put("other", ("other", 0))
    batch = queue.get_batch(3)
    assert sorted(camera for camera, _ in batch) == ["busy", "other", "quiet"]
    assert queue.dropped("busy") == 92 and queue.dropped("quiet") == 0


def test_get_batch_waits_for_a_frame_then_gives_up():
    queue = FrameQueue(per_camera=2)
    # A lower bound on a wait cannot race a slow machine (being slow only makes the wait longer); the upper side,
    # "then gives up", is that the call returns at all, with nothing.
    started = time.monotonic()
    assert queue.get_batch(4, timeout=0.2) == []
    assert time.monotonic() - started >= 0.19


def test_a_reader_faster_than_processing_keeps_the_queue_bounded():
    """A real reader on a real video with nobody consuming: the queue stays at its bound, drops grow."""
    queue = FrameQueue(per_camera=3)
    config = CameraConfig(id="clip", name="clip", source=clip_path(), sample_fps=0)
    reader = CameraReader(config, queue, backoff_min=0.05, backoff_max=0.1, open_timeout=2, error_after=3)
    reader.start()
    try:
        # Checked at every frame the reader offers (not at intervals of a sleep), until 20 were dropped; the deadline
        # only stops a hung test and is generous (the 8 s clip gives 20 drops within ~1 s of playback).
        deadline = time.monotonic() + 120
        while queue.dropped("clip") < 20 and time.monotonic() < deadline:
            queue.wait_for_put(timeout=1)
            assert queue.length("clip") <= 3
    finally:
        reader.stop()
        reader.join(timeout=5)
    assert queue.dropped("clip") >= 20
    assert queue.length("clip") == 3
    assert reader.frames_read >= 23 and reader.state in ("running", "stopped")
