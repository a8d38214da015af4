"""Bulk uploads from the operator pages: a ZIP, or a folder, of per-person folders imported in the background.

The upload is unpacked under VAR_DIR/imports/<job id>/; then a django-q2 task imports it with
`importing.import_entries(importing.entries_from_folder(...))`, the code of `manage.py import_faces`, with its
defaults, so the result is the command's on the same folder. The work runs in slices of at most
FACEAPP_IMPORT_SLICE_SECONDS, each a task of its own (so no task outlives django-q2's timeout, or its retry,
which would run it twice): a slice stops after a whole batch and queues the next one, which starts at the first
photo not yet handled (`ImportJob.next_index`). A worker that dies loses at most its slice; *Resume* queues it
again, and the import being idempotent, photos already stored are skipped.

After every batch the job's rows get each photo's outcome (`ImportJobPhoto`, the per-photo report) and the
counts, which the job's page polls for its progress bar. The uploaded photos are deleted when the job is done
(the faces keep their own copies); a stopped or failed job keeps them for a resume.
"""
from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django_q.tasks import async_task

from recognition import batch as recognition_batch
from recognition.exceptions import FaceAppError, NotFound

from . import importing
from .models import ImportJob, ImportJobPhoto

logger = logging.getLogger(__name__)

TASK = "enrollment.import_jobs.run_slice"
BATCH_SIZE = importing.DEFAULT_BATCH_SIZE  # the command's default
# A running job whose rows have not changed for this long (beyond a slice) has lost its worker: it may be resumed.
STALE_GRACE_SECONDS = 120
IGNORED_PARTS = ("__MACOSX",)


class BadUpload(FaceAppError):
    status_code = 400
    error_code = "bad_upload"
    default_message = "The upload cannot be imported."


def upload_dir(job: ImportJob) -> Path:
    return Path(settings.VAR_DIR) / "imports" / str(job.id)


# --- Creating a job and receiving its photos ----------------------------------------------------------


def create_job(name: str, *, watchlist: str = "", on_multiple_faces: str = "largest", user=None) -> ImportJob:
    if on_multiple_faces not in importing.MULTIPLE_FACES:
        raise BadUpload(f"on_multiple_faces must be one of {', '.join(importing.MULTIPLE_FACES)}.")
    job = ImportJob.objects.create(name=(name or "upload")[:300], watchlist=(watchlist or "").strip(),
                                   on_multiple_faces=on_multiple_faces, created_by=user)
    upload_dir(job).mkdir(parents=True, exist_ok=True)
    return job


def _safe_relative(name: str, *, strip_first: bool = False) -> PurePosixPath | None:
    """A member's path made safe to write under the upload folder, or None to skip it (folders, hidden files,
    macOS resource forks). Refuses absolute paths and '..'."""
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".")]
    if strip_first and len(parts) > 1:
        parts = parts[1:]  # a folder upload: the chosen folder's own name
    if not parts or name.endswith("/"):
        return None
    if parts[0] == "/" or any(p == ".." for p in parts):
        raise BadUpload(f"Refused the path {name!r}: it leaves the upload.")
    if any(p.startswith(".") or p in IGNORED_PARTS for p in parts):
        return None
    return PurePosixPath(*parts)


def _write(job: ImportJob, relative: PurePosixPath, source) -> int:
    target = upload_dir(job) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        shutil.copyfileobj(source, out, length=1024 * 1024)
    return target.stat().st_size


def _check_quota(job: ImportJob, adding_bytes: int, adding_files: int) -> None:
    used = sum(f.stat().st_size for f in upload_dir(job).rglob("*") if f.is_file())
    files = sum(1 for f in upload_dir(job).rglob("*") if f.is_file())
    if used + adding_bytes > settings.FACEAPP_IMPORT_MAX_BYTES:
        raise BadUpload(f"The upload is larger than FACEAPP_IMPORT_MAX_BYTES ({settings.FACEAPP_IMPORT_MAX_BYTES:,} bytes unpacked).")
    if files + adding_files > settings.FACEAPP_IMPORT_MAX_FILES:
        raise BadUpload(f"The upload holds more than FACEAPP_IMPORT_MAX_FILES ({settings.FACEAPP_IMPORT_MAX_FILES:,}) files.")


def add_zip(job: ImportJob, upload) -> int:
    """Unpack a ZIP of per-person folders into the job's folder → files written. Sizes are checked before anything
    is unpacked (a ZIP bomb is refused, not unpacked)."""
    _refuse_unless_uploading(job)
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BadUpload(f"This is not a ZIP file ({exc}).") from None
    with archive:
        members = []
        for info in archive.infolist():
            if info.is_dir():
                continue
            relative = _safe_relative(info.filename)
            if relative is not None:
                members.append((info, relative))
        _check_quota(job, sum(info.file_size for info, _ in members), len(members))
        written = 0
        try:
            for info, relative in members:
                with archive.open(info) as source:
                    _write(job, relative, source)
                written += 1
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:  # RuntimeError: an encrypted member
            raise BadUpload(f"The ZIP file is damaged or encrypted ({exc}).") from None
    return written


def add_files(job: ImportJob, files) -> int:
    """Files of a folder upload, each with its path in the chosen folder ('Folder/Person_Name/photo.jpg')
    → files written. The chosen folder's own name is dropped."""
    _refuse_unless_uploading(job)
    items = [(_safe_relative(path, strip_first=True), upload) for path, upload in files]
    items = [(relative, upload) for relative, upload in items if relative is not None]
    _check_quota(job, sum(getattr(upload, "size", 0) or 0 for _, upload in items), len(items))
    for relative, upload in items:
        _write(job, relative, upload)
    return len(items)


def received(job: ImportJob) -> list[str]:
    """The paths received so far (a folder upload interrupted by a reload sends only the others)."""
    base = upload_dir(job)
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()) if base.is_dir() else []


def _refuse_unless_uploading(job: ImportJob) -> None:
    if job.status != ImportJob.Status.UPLOADING:
        raise BadUpload("This bulk upload has started importing: start a new one for more photos.")


def import_root(job: ImportJob) -> Path:
    """The folder whose sub-folders are people: the upload itself, or its only folder when it holds nothing else
    (a ZIP of 'lfw-dev/' rather than of lfw-dev's folders)."""
    root = upload_dir(job)
    while True:
        children = [p for p in root.iterdir() if not p.name.startswith(".") and p.name not in IGNORED_PARTS] if root.is_dir() else []
        if len(children) == 1 and children[0].is_dir() and any(c.is_dir() for c in children[0].iterdir()):
            root = children[0]
            continue
        return root


# --- Running it ------------------------------------------------------------------------------------


def start(job: ImportJob) -> ImportJob:
    """The upload is complete: count its photos and queue the import."""
    _refuse_unless_uploading(job)
    entries = importing.entries_from_folder(import_root(job))
    if not entries:
        raise BadUpload("The upload holds no photos: give a ZIP or a folder with one folder per person (named after them).")
    job.total = len(entries)
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["total", "status", "updated_at"])
    _queue(job)
    return job


def resume(job: ImportJob) -> ImportJob:
    """Queue a stopped, failed or stale job again from the first photo not handled."""
    if job.status == ImportJob.Status.DONE or (job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING) and not is_stale(job)):
        return job
    if not upload_dir(job).is_dir():
        raise BadUpload("The uploaded photos of this job are gone: upload them again.")
    ImportJob.objects.filter(id=job.id).update(status=ImportJob.Status.QUEUED, stop_requested=False, error="", finished_at=None,
                                               updated_at=timezone.now())
    job.refresh_from_db()
    _queue(job)
    return job


def stop(job: ImportJob) -> ImportJob:
    """Ask the job to stop after its current batch (a queued job stops at once)."""
    ImportJob.objects.filter(id=job.id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]).update(
        stop_requested=True, updated_at=timezone.now())
    job.refresh_from_db()
    return job


def is_stale(job: ImportJob, *, now=None) -> bool:
    """Running or queued, but nothing has happened for longer than a slice can take: its worker is gone."""
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return False
    idle = ((now or timezone.now()) - job.updated_at).total_seconds()
    return idle > settings.FACEAPP_IMPORT_SLICE_SECONDS + STALE_GRACE_SECONDS


def _queue(job: ImportJob) -> None:
    async_task(TASK, str(job.id), task_name=f"import {job.id}"[:100])


def run_slice(job_id: str) -> str:
    """The django-q2 task: import the job's photos from `next_index` for up to a slice's time, then queue the
    next slice (or finish). Returns the job's status."""
    job = ImportJob.objects.filter(id=job_id).first()
    if job is None:
        return "missing"
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return job.status
    if job.stop_requested:
        return _finish(job, ImportJob.Status.STOPPED)
    root = import_root(job)
    entries = importing.entries_from_folder(root)
    start_at = job.next_index
    # A slice that died half-way left outcomes past next_index: they are redone now.
    job.photos.filter(index__gte=start_at).delete()
    ImportJob.objects.filter(id=job.id).update(status=ImportJob.Status.RUNNING, total=len(entries), error="", updated_at=timezone.now())
    job.refresh_from_db()
    slice_entries = entries[start_at:]
    index_of = {id(entry): start_at + i for i, entry in enumerate(slice_entries)}
    deadline = time.monotonic() + settings.FACEAPP_IMPORT_SLICE_SECONDS
    people_before = job.people_created
    options = importing.ImportOptions(watchlist=job.watchlist or None, on_multiple_faces=job.on_multiple_faces,
                                      batch_size=BATCH_SIZE, source_label=f"bulk upload {job.name} ({job.id})")
    batches = [0]

    def progress(summary: importing.ImportSummary, done: int) -> None:
        batches[0] += 1
        _save_outcomes(job, summary, root, index_of, people_before)

    def should_stop() -> bool:
        # A slice always finishes a batch (or it could hand over forever without doing anything); a stop is at once.
        if ImportJob.objects.filter(id=job.id, stop_requested=True).exists():
            return True
        return batches[0] > 0 and time.monotonic() > deadline

    recognition_batch.share_cores(options.workers)  # as the command does: a no-op once this worker's models are loaded
    try:
        summary = importing.import_entries(slice_entries, options, progress=progress, should_stop=should_stop, keep_outcomes=True)
    except importing.ImportRunning as exc:
        ImportJob.objects.filter(id=job.id).update(status=ImportJob.Status.QUEUED, error=str(exc), updated_at=timezone.now())
        _queue_later(job)
        return ImportJob.Status.QUEUED
    except Exception as exc:
        logger.exception("bulk upload %s failed", job.id)
        job.refresh_from_db()
        job.error = f"{type(exc).__name__}: {exc}"
        return _finish(job, ImportJob.Status.FAILED)
    _save_outcomes(job, summary, root, index_of, people_before)
    job.refresh_from_db()
    job.next_index = start_at + summary.processed
    job.save(update_fields=["next_index", "updated_at"])
    if job.next_index >= len(entries):
        return _finish(job, ImportJob.Status.DONE)
    if job.stop_requested:
        return _finish(job, ImportJob.Status.STOPPED)
    _queue(job)
    return job.status


def _save_outcomes(job: ImportJob, summary: importing.ImportSummary, root: Path, index_of: dict, people_before: int) -> None:
    outcomes, summary.outcomes[:] = list(summary.outcomes), []
    rows = []
    for entry, reason, detail in outcomes:
        try:
            path = str(entry.path.relative_to(root))
        except ValueError:
            path = entry.path.name
        rows.append(ImportJobPhoto(job=job, index=index_of.get(id(entry), 0), path=path[:1000], person_name=entry.name[:200],
                                   reason=reason, detail=detail))
    with transaction.atomic():
        ImportJobPhoto.objects.bulk_create(rows)
        counts = dict(job.photos.values_list("reason").annotate(n=Count("id")).values_list("reason", "n"))
        ImportJob.objects.filter(id=job.id).update(counts=counts, people_created=people_before + summary.people_created,
                                                   updated_at=timezone.now())


def _finish(job: ImportJob, status: str) -> str:
    job.status = status
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at", "error", "updated_at"])
    if status == ImportJob.Status.DONE:
        shutil.rmtree(upload_dir(job), ignore_errors=True)  # the faces keep their own copies
    logger.info("bulk upload %s: %s, %s", job.id, status, job.counts)
    return status


def _queue_later(job: ImportJob, seconds: int = 30) -> None:
    from django_q.models import Schedule
    from django_q.tasks import schedule

    schedule(TASK, str(job.id), schedule_type=Schedule.ONCE, repeats=1, next_run=timezone.now() + dt.timedelta(seconds=seconds))


# --- Reading it --------------------------------------------------------------------------------------


def get_job(job_id) -> ImportJob:
    job = ImportJob.objects.filter(id=job_id).first()
    if job is None:
        raise NotFound(f"No bulk upload with id {job_id}.")
    return job


def recent_jobs(limit: int = 20):
    return ImportJob.objects.order_by("-created_at")[:limit]


def discard(job: ImportJob) -> None:
    """Forget a job that is not running: its rows and any uploaded photos left (what it imported stays)."""
    if job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING) and not is_stale(job):
        raise BadUpload("The job is running: stop it first.")
    shutil.rmtree(upload_dir(job), ignore_errors=True)
    job.delete()
