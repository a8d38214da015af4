"""Faults survived on the single-machine default (no Redis: django-q2's ORM broker, runners sharing cameras through
the database): a task worker and a camera runner, real processes on the test database, killed with SIGKILL mid-work.
The multi-host set-up has its own kill tests (tests/multinode). Run them alone with `pytest -m faults`; each takes
about a minute (short leases through the environment)."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from tests.conftest import people_folder
from tests.videostreams.conftest import clip_path

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent

# Runs a management command in another process against the test database, with media in the test's folder.
COMMAND = """
import os, sys
sys.path.insert(0, sys.argv[1])
os.environ["DJANGO_SETTINGS_MODULE"] = "faceapp.settings"
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[2]
settings.MEDIA_ROOT = sys.argv[3]
import django
django.setup()
from django.core.management import call_command
call_command(*sys.argv[4:])
"""


def start_command(media: Path, log: Path, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", COMMAND, str(ROOT), connection.settings_dict["NAME"], str(media), *args],
        stdout=open(log, "w"), stderr=subprocess.STDOUT, env={**os.environ, "FACEAPP_ORT_THREADS": "1", **env},
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition, timeout: float, what: str, log: Path | None = None):
    """Poll until `condition()` is true → its value. The timeout is a safety net for a hung test, generous."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f"; log:\n{log.read_text()[-3000:]}" if log else ""))


# --- a task worker killed mid-task ---------------------------------------------------------------------------------

QUEUE_TIMEOUT_SECONDS = 40  # the task's own limit (an import of 13 photos takes ~10 s here)
QUEUE_RETRY_SECONDS = 45  # a task not acknowledged by then is given again (must exceed the timeout)
IMPORTABLE, PEOPLE_WITH_A_FACE = 9, 4  # the committed people set (tests/conftest.py)
# The step of the import (enrollment/faultpoints.py) the worker dies at: a file of the second batch's second stored
# photo, after a first batch was committed and with the first photo of this batch written but not committed.
KILL_AT_STEP = 24
IMPORT_TASK = "enrollment.tasks.run_import"


def test_a_task_worker_killed_mid_import_leaves_the_task_to_be_retried_and_done_once(models_ready, tmp_path, media_in_tmp):
    from django_q.models import Failure, OrmQ, Success

    from enrollment.models import Face, Person
    from tests.enrollment.test_import_faces import assert_files_match_rows

    photos = people_folder(tmp_path / "photos")
    steps = tmp_path / "steps.txt"
    call_command("import_faces", str(photos), "--in-background", "--batch-size", "3", "--workers", "1",
                 "--report", str(tmp_path / "report.csv"), stdout=io.StringIO())
    assert OrmQ.objects.count() == 1
    log = tmp_path / "qcluster.log"
    cluster = start_command(
        media_in_tmp, log, "qcluster",
        FACEAPP_QUEUE_WORKERS="1", FACEAPP_QUEUE_TIMEOUT_SECONDS=str(QUEUE_TIMEOUT_SECONDS),
        FACEAPP_IMPORT_TIMEOUT_SECONDS=str(QUEUE_TIMEOUT_SECONDS), FACEAPP_QUEUE_RETRY_SECONDS=str(QUEUE_RETRY_SECONDS),
        FACEAPP_TEST_STEP_LOG=str(steps), FACEAPP_TEST_KILL_AT_STEP=str(KILL_AT_STEP),
    )
    try:
        wait_for(lambda: steps.exists() and len(steps.read_text().splitlines()) >= KILL_AT_STEP, 180, "the kill step", log)
        killed_at = time.monotonic()
        # (the housekeeping schedules run on this cluster too: wait for the import's own result)
        wait_for(lambda: Success.objects.filter(func=IMPORT_TASK).exists() or Failure.objects.exists(),
                 QUEUE_RETRY_SECONDS + 180, "the task retried and done", log)
        retried_after = time.monotonic() - killed_at
    finally:
        stop(cluster)
    names = [line.split(" ", 1)[1] for line in steps.read_text().splitlines()]
    # The worker died where it was meant to, mid-task: a batch committed before, a photo of this batch stored.
    assert names[KILL_AT_STEP - 1] == "media.file_written", names
    before_kill = names[: KILL_AT_STEP - 1]
    assert "import.batch_done" in before_kill, names
    this_batch = before_kill[len(before_kill) - before_kill[::-1].index("import.batch_done"):]
    assert "import.photo_stored" in this_batch, names
    # A new worker ran the task again (a second "import.started"), once the broker's lease on it had run out.
    assert names.count("import.started") == 2, names
    assert "reincarnated worker" in log.read_text()  # the cluster replaced the dead worker process
    # Done once: one success, no failure, and exactly a clean import's rows and files.
    assert Success.objects.filter(func=IMPORT_TASK).count() == 1 and not Failure.objects.exists()
    assert Face.objects.count() == IMPORTABLE and Person.objects.count() == PEOPLE_WITH_A_FACE
    assert Face.objects.values("source_sha256").distinct().count() == IMPORTABLE
    assert_files_match_rows(media_in_tmp)
    print(f"the killed task was done by a new worker {retried_after:.1f} s after the kill (retry {QUEUE_RETRY_SECONDS} s)")


# --- a camera runner killed mid-stream -----------------------------------------------------------------------------

LEASE_SECONDS = 4
REFRESH_SECONDS = 0.5


@pytest.fixture
def obama(models_ready):
    """Barack Obama enrolled (the clip shows him), so the events carry a person whose sightings must not overlap."""
    import datetime as dt

    from enrollment import services
    from tests.conftest import read_bytes

    return services.enrol_person(name="Barack Obama", birthdate=dt.date(1961, 8, 4),
                                 image=read_bytes("samples", "obama.jpg"), image_name="obama.jpg")


def test_a_killed_camera_runners_camera_is_taken_by_another_runner_within_the_lease_no_event_lost_or_doubled(
        obama, tmp_path, media_in_tmp):
    from videostreams.models import Camera, CameraRunner, Event

    camera = Camera.objects.create(name="door", source=clip_path(), sample_fps=3)
    env = dict(FACEAPP_CAMERA_LEASE_SECONDS=str(LEASE_SECONDS), FACEAPP_VIDEO_FILE_ROOT=str(Path(clip_path()).parent))
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_command(media_in_tmp, first_log, "run_cameras", "--owner", "first", "--refresh", str(REFRESH_SECONDS), **env)
    second = None
    try:
        wait_for(lambda: Event.objects.filter(camera=camera).exists(), 240, "a first event from the first runner", first_log)
        second = start_command(media_in_tmp, second_log, "run_cameras", "--owner", "second", "--refresh", str(REFRESH_SECONDS), **env)
        wait_for(lambda: CameraRunner.objects.filter(owner="second").exists(), 240, "the second runner's heartbeat", second_log)
        assert Camera.objects.get(pk=camera.pk).lease_owner == "first"  # one camera, two runners: its holder keeps it

        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at, killed_wall = time.monotonic(), time.time()
        written_by_the_dead = set(Event.objects.filter(camera=camera).values_list("id", flat=True))
        wait_for(lambda: Camera.objects.get(pk=camera.pk).lease_owner == "second", 120, "the take-over", second_log)
        moved_after = time.monotonic() - killed_at
        # Wall time is what is promised here ("within the lease"): the lease, plus a refresh to notice, plus a
        # generous margin for a busy machine; a take-over that waited for anything else (a restart) would take minutes.
        assert moved_after <= LEASE_SECONDS + 2 * REFRESH_SECONDS + 20, moved_after
        # The second runner runs the camera: new events, seen after the kill.
        wait_for(lambda: Event.objects.filter(camera=camera, first_seen__gt=_aware(killed_wall)).exists(), 120,
                 "an event from the second runner", second_log)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        if second is not None:
            stop(second)

    events = list(Event.objects.filter(camera=camera).order_by("first_seen"))
    # None lost: every event the dead runner had written is still there, closed (by the runner that took over).
    assert written_by_the_dead <= {e.id for e in events}
    assert all(e.closed for e in events)
    # None doubled: two runners reading the camera at once would write the same person's sighting twice, overlapping.
    for earlier, later in zip(events, events[1:]):
        if earlier.person_id and earlier.person_id == later.person_id:
            assert later.first_seen >= earlier.last_seen, (earlier.first_seen, earlier.last_seen, later.first_seen)
    assert Camera.objects.get(pk=camera.pk).lease_owner == ""  # the second runner stopped cleanly and released it
    print(f"the camera moved {moved_after:.1f} s after its runner was killed (lease {LEASE_SECONDS} s)")


def _aware(timestamp: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)
