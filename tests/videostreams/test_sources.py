import cv2
import numpy as np

from tests.videostreams.conftest import clip_path
from videostreams.sources import BackOff, Sampler, file_frames, is_device, is_stream, open_capture, redact


def test_backoff_doubles_up_to_its_cap_and_resets():
    backoff = BackOff(1, 8)
    assert [backoff.next() for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    backoff.reset()
    assert backoff.next() == 1


def test_sampler_keeps_frames_at_the_configured_rate():
    sampler = Sampler(5)
    kept = [i for i in range(30) if sampler.take(i / 30)]  # one second of 30 fps
    assert kept == [0, 6, 12, 18, 24]
    every = Sampler(0)
    assert all(every.take(i / 30) for i in range(10))


def test_file_frames_samples_a_real_video_by_its_timestamps():
    frames = list(file_frames(clip_path(), 2))
    # 200 frames at 25 fps: 8 s, two frames a second.
    assert 15 <= len(frames) <= 17
    index, position, image = frames[1]
    assert abs(position - 0.5) < 0.1 and image.shape == (360, 640, 3) and image.dtype == np.uint8


def test_sources_are_told_apart_and_passwords_never_shown():
    assert is_device("0") and is_device(" 2 ") and not is_device("cam0.mp4")
    assert is_stream("rtsp://10.0.0.1/s") and not is_stream("/videos/a.mp4")
    assert redact("rtsp://admin:hunter2@10.0.0.1:554/s1") == "rtsp://admin:***@10.0.0.1:554/s1"
    assert redact("http://10.0.0.1/mjpg") == "http://10.0.0.1/mjpg"


def test_open_capture_fails_fast_on_a_refused_url():
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # What is tested is wall time itself: a refused connection must end the attempt at once, not wait out the open
    # timeout. The timeout is therefore long (60 s) and the bound generous (15 s, a slow CI machine takes well under 1 s),
    # so the test fails only when the attempt waits for the timeout, never because the machine is busy.
    started = time.monotonic()
    capture = open_capture(f"http://127.0.0.1:{port}/x.mjpg", open_timeout=60)
    assert not capture.isOpened()
    assert time.monotonic() - started < 15
    assert isinstance(capture, cv2.VideoCapture)
