"""The import_faces command, including a real kill (SIGKILL) and a real Ctrl-C (SIGINT) of a running import."""
import csv
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from enrollment.models import Face, Person
from tests.conftest import data_path, people_folder, read_bytes

ROOT = Path(__file__).resolve().parents[2]
# The committed people set (tests/conftest.py): 13 photos in 5 folders, 4 without a face, 9 faces of 4 people.
IMPORTABLE = 9
PEOPLE_WITH_A_FACE = 4

# Runs the command in another process against the test database, with media in the test's folder.
RUNNER = """
import os, sys
sys.path.insert(0, sys.argv[1])
os.environ["DJANGO_SETTINGS_MODULE"] = "faceapp.settings"
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[2]
settings.MEDIA_ROOT = sys.argv[3]
import django
django.setup()
from django.core.management import call_command
call_command("import_faces", *sys.argv[4:])
"""


@pytest.fixture
def models_loaded(models_ready):
    """The sessions exist before the command runs, so its share_cores() leaves them and the settings as they are
    (it would otherwise give every later test in this process one ONNX Runtime thread per session)."""
    from recognition import pipeline

    pipeline.analyse_bytes(read_bytes("samples", "obama.jpg"))


def start_import(media: Path, *args, **env: str) -> subprocess.Popen:
    """The import in another process; `env` sets test-only fault points (enrollment/faultpoints.py)."""
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(ROOT), connection.settings_dict["NAME"], str(media), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FACEAPP_ORT_THREADS": "1", **env},
    )


def state() -> set[tuple[str, str]]:
    """What an import leaves: (person, photo content hash) for every face."""
    return set(Face.objects.values_list("person__name", "source_sha256"))


def media_files(media: Path) -> set[str]:
    return {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()}


def assert_files_match_rows(media: Path) -> None:
    on_disk = media_files(media)
    in_rows = {n for f in Face.objects.all() for n in (f.crop.name, f.thumbnail.name, f.source_image.name)}
    assert on_disk == in_rows, (on_disk - in_rows, in_rows - on_disk)


def wait_for_import_lock_released(timeout: float = 120) -> None:
    """A killed import's database session ends a moment after the process (the server notices the closed socket);
    wait for its advisory lock to go, so the next import is not refused with "another import is running"."""
    from enrollment.importing import _IMPORT_LOCK_ID

    deadline = time.monotonic() + timeout  # a safety net only: the server ends the session within milliseconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted",
                           [_IMPORT_LOCK_ID & 0xFFFFFFFF])
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the killed import's lock was never released")


def forget_everything(media: Path) -> None:
    Face.objects.all().delete()
    Person.objects.all().delete()
    shutil.rmtree(media, ignore_errors=True)


# Which kill points: seeded, so a failure can be replayed (FACEAPP_TEST_SEED=<the seed in the failure message>).
SEED = int(os.environ.get("FACEAPP_TEST_SEED", "16"))


def kill_points(steps: list[str], rng) -> list[int]:
    """Steps (numbered from 1) to kill the import at: two anywhere, one just after a file is written inside a batch
    (its row and batch not yet committed), and one after a batch's commit but before its journal is cleared."""
    numbered = list(enumerate(steps, start=1))
    anywhere = rng.sample(range(1, len(steps) + 1), 2)
    file_written = rng.choice([n for n, name in numbered if name == "media.file_written"])
    committed = rng.choice([n for n, name in numbered if name == "import.batch_committed"])
    return sorted({*anywhere, file_written, committed})


@pytest.mark.django_db(transaction=True)
def test_an_import_killed_at_random_points_resumes_to_exactly_the_state_of_a_clean_import(models_loaded, tmp_path, media_in_tmp):
    import random

    photos = people_folder(tmp_path / "photos")
    args = (str(photos), "--batch-size", "3", "--workers", "1")
    # One clean run, in a process like the killed ones, listing every step it passes.
    step_log = tmp_path / "steps.txt"
    clean_run = start_import(media_in_tmp, *args, "--report", str(tmp_path / "clean.csv"), FACEAPP_TEST_STEP_LOG=str(step_log))
    out, err = clean_run.communicate(timeout=600)
    assert clean_run.returncode == 0, err
    clean, clean_files = state(), media_files(media_in_tmp)
    assert len(clean) == Face.objects.count() == IMPORTABLE and Person.objects.count() == PEOPLE_WITH_A_FACE
    assert len(clean_files) == 3 * IMPORTABLE  # crop, thumbnail and original of each face
    assert_files_match_rows(media_in_tmp)
    steps = [line.split(" ", 1)[1] for line in step_log.read_text().splitlines()]
    assert steps.count("import.batch_committed") >= 3 and steps.count("media.file_written") == len(clean_files)

    rng = random.Random(SEED)
    for step in kill_points(steps, rng):
        where = f"seed {SEED}, killed at step {step} of {len(steps)} ({steps[step - 1]})"
        forget_everything(media_in_tmp)
        killed = start_import(media_in_tmp, *args, "--report", str(tmp_path / "killed.csv"), FACEAPP_TEST_KILL_AT_STEP=str(step))
        killed.communicate(timeout=600)
        assert killed.returncode == -signal.SIGKILL, where  # it died exactly there, mid-import
        wait_for_import_lock_released()

        call_command("import_faces", str(photos), "--batch-size", "4", "--report", str(tmp_path / "resumed.csv"),
                     stdout=open(os.devnull, "w"))
        assert state() == clean, where  # each photo once, to the same person
        assert Face.objects.count() == IMPORTABLE and Person.objects.count() == PEOPLE_WITH_A_FACE, where  # nobody twice
        assert len(media_files(media_in_tmp)) == len(clean_files), where
        assert_files_match_rows(media_in_tmp)  # the killed batch left no file without a row, no row without files


@pytest.mark.django_db(transaction=True)
def test_ctrl_c_stops_after_the_current_batch_with_a_summary(models_ready, tmp_path, media_in_tmp):
    photos = people_folder(tmp_path / "photos")
    # The Ctrl-C lands at an exact point, just after the first photo of the first batch is stored (not when a poll
    # happens to see the first faces, which a fast import could outrun).
    process = start_import(media_in_tmp, str(photos), "--batch-size", "2", "--workers", "1", "--report", str(tmp_path / "r.csv"),
                           FACEAPP_TEST_STEP_LOG=str(tmp_path / "steps.txt"), FACEAPP_TEST_KILL_SIGNAL="SIGINT",
                           FACEAPP_TEST_KILL_AT_STEP=str(FIRST_PHOTO_STORED))
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert (tmp_path / "steps.txt").read_text().splitlines()[FIRST_PHOTO_STORED - 1] == f"{FIRST_PHOTO_STORED} import.photo_stored"
    assert "stopped by Ctrl-C" in out and "Run the same command again" in out
    assert 0 < Face.objects.count() < IMPORTABLE
    assert_files_match_rows(media_in_tmp)


# The import's start, then the first photo's steps: three files written, its row, then "stored".
FIRST_PHOTO_STORED = 6


@pytest.mark.django_db
def test_import_faces_prints_a_summary_and_writes_a_report_of_every_photo_not_imported(models_loaded, tmp_path, capsys):
    photos = people_folder(tmp_path / "photos")
    shutil.copy(data_path("nonfaces", "horse.jpg"), photos / "Barack_Obama" / "horse.jpg")
    (photos / "Barack_Obama" / "notes.txt").write_text("not a photo")
    report = tmp_path / "report.csv"
    call_command("import_faces", str(photos), "--report", str(report), "--watchlist", "athletes")
    out = capsys.readouterr().out
    assert "done: 15 of 15 photos" in out and "imported 9" in out and "people created: 4" in out
    assert "no_face: 5" in out and "unreadable: 1" in out and f"Report of the 6 photos not imported: {report}" in out
    rows = list(csv.DictReader(open(report)))
    assert {(Path(r["path"]).name, r["reason"]) for r in rows} == {
        ("horse.jpg", "no_face"),
        ("notes.txt", "unreadable"),
        ("text.jpg", "no_face"),
        ("rocket.jpg", "no_face"),
        ("cat.jpg", "no_face"),
        ("coffee.jpg", "no_face"),
    }
    assert all(r["person"] and r["detail"] for r in rows)
    assert Person.objects.filter(watchlists__name="athletes").count() == 4

    call_command("import_faces", str(photos), "--report", str(report))
    out = capsys.readouterr().out
    assert "imported 0; people created: 0" in out and "duplicate: 9" in out and Face.objects.count() == 9


def test_import_faces_needs_a_folder_or_a_manifest(tmp_path):
    with pytest.raises(CommandError, match="Give either PATH"):
        call_command("import_faces")
    with pytest.raises(CommandError, match="--min-quality"):
        call_command("import_faces", str(tmp_path), "--min-quality", "beauty=1")


@pytest.mark.django_db
def test_an_import_in_the_background_goes_to_the_imports_queue(tmp_path, settings, capsys):
    from django_q.models import OrmQ

    settings.FACEAPP_QUEUES_SEPARATE = True
    photos = people_folder(tmp_path / "photos")
    call_command("import_faces", str(photos), "--in-background", "--watchlist", "later")
    assert "on the queue faceapp-imports" in capsys.readouterr().out
    assert OrmQ.objects.filter(key="faceapp-imports").count() == 1 and OrmQ.objects.exclude(key="faceapp-imports").count() == 0
    assert Face.objects.count() == 0  # nothing imported yet: a worker of the imports queue runs it


@pytest.mark.django_db
def test_a_background_import_run_by_a_worker_imports_and_writes_its_report(models_loaded, tmp_path, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)  # the worker runs it here, at once
    photos = people_folder(tmp_path / "photos")
    call_command("import_faces", str(photos), "--in-background", "--report", str(tmp_path / "report.csv"), stdout=io.StringIO())
    assert Face.objects.count() == IMPORTABLE and Person.objects.count() == PEOPLE_WITH_A_FACE
    assert len(list(csv.DictReader(open(tmp_path / "report.csv")))) == 4  # the four photos without a face
