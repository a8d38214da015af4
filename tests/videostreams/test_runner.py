import datetime as dt
import socket
import threading
import time

import cv2
import numpy as np
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from tests.videostreams.conftest import clip_path
from videostreams.models import Camera
from videostreams.runner import Runner

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fast_backoff(settings):
    settings.FACEAPP_CAMERA_BACKOFF_MIN_SECONDS = 0.05
    settings.FACEAPP_CAMERA_BACKOFF_MAX_SECONDS = 0.2
    settings.FACEAPP_CAMERA_ERROR_AFTER = 3
    settings.FACEAPP_CAMERA_OPEN_TIMEOUT_SECONDS = 2


def refused_url() -> str:
    """A local URL nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/video.mjpg"


def short_video(path, frames=6, fps=10) -> str:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (160, 120))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((120, 160, 3), 40 * i % 255, np.uint8))
    writer.release()
    return str(path)


def start(runner: Runner) -> threading.Thread:
    def run():
        try:
            runner.run_forever()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_for(condition, timeout=120.0, every=0.1):
    """Poll until `condition()` holds. The timeout is only a safety net for a hung test, never the thing tested: it is
    generous so that a busy machine (CI, two cores shared) never fails a test by being slow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def test_a_failing_source_shows_its_error_and_reconnects_with_backoff_while_others_keep_running(models_ready, fast_backoff, tmp_path):
    refused = Camera.objects.create(name="refused", source=refused_url(), sample_fps=1)
    ends = Camera.objects.create(name="ends", source=short_video(tmp_path / "short.avi"), sample_fps=5)
    good = Camera.objects.create(name="good", source=clip_path(), sample_fps=2)
    runner = Runner(refresh_seconds=0.2)
    thread = start(runner)
    try:
        def state():
            refused.refresh_from_db()
            ends.refresh_from_db()
            good.refresh_from_db()
            return (
                refused.reconnects >= 4
                and ends.reconnects >= 2
                and good.status == Camera.Status.RUNNING
                and good.frames_per_second > 0
            )

        assert wait_for(state), (refused.status, refused.reconnects, ends.status, ends.reconnects, good.status, good.frames_per_second)
        assert refused.status == Camera.Status.ERROR  # failed ERROR_AFTER times in a row
        assert "cannot open http://127.0.0.1:" in refused.last_error
        assert refused.last_frame_at is None
        # Exponential back-off, doubling from the minimum and capped at the maximum.
        assert runner.readers[refused.id].delays[:4] == [0.05, 0.1, 0.2, 0.2]
        # A file that ends is reopened (after a back-off) and reported, like a dropped stream.
        assert "end of file" in ends.last_error and ends.last_frame_at is not None
        # The good camera is unaffected: running, frames still arriving (a later status write shows a later frame,
        # instead of comparing with the wall clock, which a slow machine would race), analysed at its rate.
        assert good.last_error == ""
        seen = good.last_frame_at
        assert wait_for(lambda: Camera.objects.get(pk=good.pk).last_frame_at > seen)
        assert good.lease_owner == runner.owner
    finally:
        runner.stop()
        thread.join(timeout=30)
    assert not thread.is_alive()
    for camera in (refused, ends, good):
        camera.refresh_from_db()
        assert camera.status == Camera.Status.STOPPED and camera.lease_owner == ""


def test_enabling_editing_and_disabling_a_camera_takes_effect_without_restart(models_ready, fast_backoff, tmp_path):
    camera = Camera.objects.create(name="door", source=refused_url(), enabled=False)
    runner = Runner(refresh_seconds=0.2)
    thread = start(runner)
    try:
        # Two whole refreshes (not a fixed sleep): the runner has read the table and left the disabled camera alone.
        assert wait_for(lambda: runner.refreshes >= 2)
        assert camera.id not in runner.readers
        Camera.objects.filter(pk=camera.pk).update(enabled=True)
        assert wait_for(lambda: camera.id in runner.readers)

        Camera.objects.filter(pk=camera.pk).update(sample_fps=0.5, min_face_size=60)
        assert wait_for(lambda: runner.readers[camera.id].config.sample_fps == 0.5)
        assert runner.processor.config(camera.id).min_face_size == 60

        first_reader = runner.readers[camera.id]
        video = short_video(tmp_path / "door.avi")
        Camera.objects.filter(pk=camera.pk).update(source=video)
        assert wait_for(lambda: runner.readers[camera.id] is not first_reader)
        assert runner.readers[camera.id].config.source == video

        Camera.objects.filter(pk=camera.pk).update(enabled=False)
        assert wait_for(lambda: camera.id not in runner.readers)
        # The runner drops the reader first and then writes the row: wait for the row, not for the dictionary.
        assert wait_for(lambda: Camera.objects.filter(pk=camera.pk, status=Camera.Status.STOPPED, lease_owner="").exists())
    finally:
        runner.stop()
        thread.join(timeout=30)


def test_two_runners_never_own_the_same_camera(db):
    camera = Camera.objects.create(name="gate", source="rtsp://192.0.2.1/stream")
    first, second = Runner(owner="first", lease_seconds=30), Runner(owner="second", lease_seconds=30)
    assert first.claim(camera.id)
    assert not second.claim(camera.id)
    assert first.claim(camera.id)  # renewing one's own lease
    # A runner that died leaves its lease to expire; then another may take the camera.
    Camera.objects.filter(pk=camera.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert second.claim(camera.id)
    assert not first.claim(camera.id)
    camera.refresh_from_db()
    assert camera.lease_owner == "second"


def test_two_runners_racing_for_a_camera_give_it_to_exactly_one(db):
    camera = Camera.objects.create(name="lobby", source="0")
    runners = [Runner(owner=f"racer-{i}") for i in range(4)]
    barrier = threading.Barrier(len(runners))
    won = []

    def race(runner):
        try:
            barrier.wait()
            if runner.claim(camera.id):
                won.append(runner.owner)
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    camera.refresh_from_db()
    assert camera.lease_owner == won[0]


def holders() -> dict:
    return dict(Camera.objects.values_list("name", "lease_owner"))


def test_runners_share_the_cameras_evenly_and_take_over_a_dead_ones_within_the_lease(models_ready, fast_backoff):
    from tests.videostreams.test_views import make_event
    from videostreams.models import CameraRunner, Event

    cameras = [Camera.objects.create(name=f"cam-{n}", source=refused_url(), sample_fps=1) for n in range(4)]
    first = Runner(owner="node-a", lease_seconds=30)
    second = Runner(owner="node-b", lease_seconds=30)
    # The runners' clock (leases, heartbeats) is frozen and moved by hand: however slow the machine, no lease runs out
    # between two steps of this test, and the dead runner's lease runs out exactly when the clock passes it.
    clock = time_machine.travel(timezone.now(), tick=False)
    traveller = clock.start()
    try:
        first.refresh()  # alone: it takes every camera
        assert set(holders().values()) == {"node-a"} and len(first.readers) == 4
        second.refresh()  # a second runner: the share is now 2, but every camera is held
        assert len(second.readers) == 0 and CameraRunner.objects.count() == 2
        first.refresh()  # the first hands back what is above its share...
        assert len(first.readers) == 2 and list(holders().values()).count("") == 2
        second.refresh()  # ...and the second takes it
        assert len(first.readers) == len(second.readers) == 2
        assert sorted(holders().values()) == ["node-a", "node-a", "node-b", "node-b"]
        assert not set(first.readers) & set(second.readers)

        # node-a dies (it stops renewing); an event it had open stays open until someone takes the camera.
        dead = [c for c in cameras if c.id in first.readers]
        open_event = make_event(dead[0])
        Event.objects.filter(pk=open_event.pk).update(closed=False)
        second.refresh()
        traveller.shift(29)
        second.refresh()
        assert len(second.readers) == 2  # the leases still run (one second left)
        traveller.shift(2)  # past the 30 s lease
        second.refresh()
        assert set(holders().values()) == {"node-b"} and len(second.readers) == 4
        assert Event.objects.get(pk=open_event.pk).closed  # closed by the runner that took the camera over
    finally:
        for runner in (first, second):
            for reader in runner.readers.values():
                reader.stop()
        second.shutdown()
        clock.stop()
    assert set(holders().values()) == {""}  # a clean stop releases every camera
    assert not CameraRunner.objects.filter(owner="node-b").exists()


def test_a_disabled_camera_cannot_be_claimed(db):
    camera = Camera.objects.create(name="off", source="0", enabled=False)
    assert not Runner(owner="r").claim(camera.id)


def test_run_cameras_runs_until_sigterm_then_stops_cleanly_and_releases_its_cameras(models_ready, fast_backoff, tmp_path):
    import io
    import os
    import signal

    from django.core.management import call_command

    camera = Camera.objects.create(name="file", source=short_video(tmp_path / "c.avi", frames=30), sample_fps=2)
    seen_running = []

    def stop_when_running():
        try:
            wait_for(lambda: Camera.objects.filter(pk=camera.pk, status=Camera.Status.RUNNING).exists())
            seen_running.append(Camera.objects.get(pk=camera.pk).lease_owner)
        finally:
            connection.close()
            os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=stop_when_running, daemon=True)
    killer.start()
    out = io.StringIO()
    call_command("run_cameras", "--refresh", "0.2", "--owner", "test-runner", stdout=out)
    killer.join(timeout=30)
    assert seen_running == ["test-runner"]
    assert "stopping cameras" in out.getvalue() and "camera runner stopped" in out.getvalue()
    camera.refresh_from_db()
    assert camera.status == Camera.Status.STOPPED and camera.lease_owner == ""
