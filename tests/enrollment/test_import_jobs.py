"""Bulk uploads (enrollment/import_jobs.py): unpacking safely, importing in slices with a per-photo report, and
the same result as `manage.py import_faces` on the same folder."""
from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from enrollment import import_jobs
from enrollment.models import Face, ImportJob, Person
from tests.conftest import read_bytes, shared_data_path

pytestmark = pytest.mark.django_db(transaction=True)

# 30 lfw-dev photos of 5 people, 3 without a face the detector finds (as in test_import_faces).
PEOPLE = ("Aaron_Peirsol", "Abdullah_Gul", "Frances_Fisher", "Nabil_Shaath", "Thomas_Birmingham")


@pytest.fixture(autouse=True)
def uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


def lfw_subset(root: Path) -> Path:
    for person in PEOPLE:
        shutil.copytree(shared_data_path("lfw-dev", person), root / "lfw" / person)
    return root / "lfw"


def zipped(folder: Path, *, prefix: str = "") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + str(path.relative_to(folder)))
    return SimpleUploadedFile("photos.zip", buffer.getvalue(), content_type="application/zip")


def run_queued_tasks():
    """What a django-q2 worker does with the ORM broker's queue, here and now: every task, in order, until none."""
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage
    from django.utils.module_loading import import_string

    broker = get_broker()
    ran = 0
    while True:
        tasks = broker.dequeue()
        if not tasks:
            return ran
        for ack_id, payload in tasks:
            task = SignedPackage.loads(payload)
            func = import_string(task["func"]) if isinstance(task["func"], str) else task["func"]
            func(*task["args"], **task["kwargs"])
            broker.acknowledge(ack_id)
            ran += 1


def gallery_state():
    """Who is enrolled with which photos (by content), and nothing else that differs between two runs."""
    return {p.name: sorted(Face.objects.filter(person=p).values_list("source_sha256", flat=True)) for p in Person.objects.all()}


def test_a_zip_is_imported_in_the_background_with_a_report_of_every_photo(tmp_path, models_ready):
    folder = lfw_subset(tmp_path)
    job = import_jobs.create_job("photos.zip", watchlist="imported")
    assert import_jobs.add_zip(job, zipped(folder, prefix="lfw/")) == 30
    import_jobs.start(job)
    assert job.total == 30 and job.status == "queued"
    assert run_queued_tasks() == 1
    job.refresh_from_db()
    assert job.status == "done" and job.next_index == 30 and job.processed == 30
    assert job.counts == {"imported": 27, "no_face": 3} and job.people_created == 5
    assert job.photos.count() == 30 and list(job.photos.values_list("index", flat=True)) == list(range(30))
    first = job.photos.first()
    assert first.path == "Aaron_Peirsol/Aaron_Peirsol_0001.jpg" and first.person_name == "Aaron Peirsol"
    assert Person.objects.get(name="Abdullah Gul").watchlists.get().name == "imported"
    assert not import_jobs.upload_dir(job).exists()  # the uploaded photos are deleted once imported


def test_the_result_equals_import_faces_on_the_same_folder(tmp_path, models_ready):
    folder = lfw_subset(tmp_path)
    job = import_jobs.create_job("photos.zip")
    import_jobs.add_zip(job, zipped(folder))
    import_jobs.start(job)
    run_queued_tasks()
    job.refresh_from_db()
    through_the_page = gallery_state()
    job_not_imported = sorted((p.path, p.reason) for p in job.photos.exclude(reason="imported"))
    Person.objects.all().delete()
    report = tmp_path / "report.csv"
    call_command("import_faces", str(folder), "--report", str(report), stdout=io.StringIO(), stderr=io.StringIO())
    assert gallery_state() == through_the_page and len(through_the_page) == 5
    with open(report) as handle:
        command_not_imported = sorted((str(Path(r["path"]).relative_to(folder)), r["reason"]) for r in csv.DictReader(handle))
    assert command_not_imported == job_not_imported


def test_a_job_runs_in_slices_that_continue_where_the_last_stopped(tmp_path, models_ready, settings, monkeypatch):
    settings.FACEAPP_IMPORT_SLICE_SECONDS = 0  # every slice stops as soon as a whole batch is done
    monkeypatch.setattr(import_jobs, "BATCH_SIZE", 4)
    folder = lfw_subset(tmp_path)
    job = import_jobs.create_job("photos.zip")
    import_jobs.add_zip(job, zipped(folder))
    import_jobs.start(job)
    import_jobs.run_slice(str(job.id))
    job.refresh_from_db()
    assert job.status == "running" and job.next_index == 8  # two batches (one stored while the next was analysed), the rest queued
    run_queued_tasks()
    job.refresh_from_db()
    assert job.status == "done" and job.counts == {"imported": 27, "no_face": 3} and job.photos.count() == 30


def test_a_stopped_job_resumes_from_the_first_photo_not_handled(tmp_path, models_ready, settings, monkeypatch):
    settings.FACEAPP_IMPORT_SLICE_SECONDS = 0
    monkeypatch.setattr(import_jobs, "BATCH_SIZE", 4)
    folder = lfw_subset(tmp_path)
    job = import_jobs.create_job("photos.zip")
    import_jobs.add_zip(job, zipped(folder))
    import_jobs.start(job)
    import_jobs.run_slice(str(job.id))
    import_jobs.stop(job)
    run_queued_tasks()
    job.refresh_from_db()
    assert job.status == "stopped" and job.next_index == 8 and job.photos.count() == 8 and import_jobs.upload_dir(job).exists()
    import_jobs.resume(job)
    run_queued_tasks()
    job.refresh_from_db()
    assert job.status == "done" and job.counts == {"imported": 27, "no_face": 3}  # nothing counted twice


@pytest.mark.parametrize("name, problem", [("../evil.jpg", "leaves the upload"), ("/etc/passwd", "leaves the upload")])
def test_a_zip_that_would_write_outside_its_folder_is_refused(name, problem, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, b"x")
    job = import_jobs.create_job("evil.zip")
    with pytest.raises(import_jobs.BadUpload, match=problem):
        import_jobs.add_zip(job, SimpleUploadedFile("evil.zip", buffer.getvalue()))
    assert not (tmp_path / "evil.jpg").exists()


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(tmp_path, settings):
    settings.FACEAPP_IMPORT_MAX_BYTES = 1_000_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Anna/big.jpg", b"\0" * 5_000_000)
    assert len(buffer.getvalue()) < 100_000
    job = import_jobs.create_job("bomb.zip")
    with pytest.raises(import_jobs.BadUpload, match="FACEAPP_IMPORT_MAX_BYTES"):
        import_jobs.add_zip(job, SimpleUploadedFile("bomb.zip", buffer.getvalue()))
    assert import_jobs.received(job) == []


def test_not_a_zip_and_an_empty_upload_are_clear_errors():
    job = import_jobs.create_job("x.zip")
    with pytest.raises(import_jobs.BadUpload, match="not a ZIP"):
        import_jobs.add_zip(job, SimpleUploadedFile("x.zip", b"plain text"))
    with pytest.raises(import_jobs.BadUpload, match="holds no photos"):
        import_jobs.start(job)


def test_a_folder_upload_drops_the_folders_own_name_and_skips_hidden_files():
    job = import_jobs.create_job("lfw")
    files = [("lfw/Anna_Smith/1.jpg", SimpleUploadedFile("1.jpg", read_bytes("samples", "obama.jpg"))),
             ("lfw/.DS_Store", SimpleUploadedFile(".DS_Store", b"x")),
             ("lfw/Anna_Smith/.hidden.jpg", SimpleUploadedFile(".hidden.jpg", b"x"))]
    assert import_jobs.add_files(job, files) == 1
    assert import_jobs.received(job) == ["Anna_Smith/1.jpg"]
    import_jobs.start(job)
    assert job.total == 1 and ImportJob.objects.get(id=job.id).status == "queued"
    with pytest.raises(import_jobs.BadUpload, match="has started importing"):
        import_jobs.add_files(job, files)
