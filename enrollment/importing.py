"""Bulk import of a photo collection (a folder per person, or a CSV manifest) into people and faces.

What `manage.py import_faces` runs. The stages per batch of photos:

  read + SHA-256 → skip photos already stored (Face.source_sha256) → decode + detect + embed the
  largest face (--workers threads, each taking a share of the batch and embedding its faces in one
  pass) → skip photos with several faces if asked → quality rules → store: one transaction per batch,
  one savepoint per photo, through `services.create_person` and `services.add_face`.

The main thread stores batch k while the workers analyse batch k+1. One import runs at a time per
database (a PostgreSQL advisory lock); a dry run takes no lock and stores nothing.

Idempotent and resumable: a photo whose bytes are already stored is skipped before it is decoded, so a
re-run after a crash or Ctrl-C only does the missing work. A kill loses at most the batch in flight:
its rows roll back, and the files it had written are listed in a `file_journal.FileJournal` that the next
run deletes. A failure on one photo (unreadable, no face, a conflict, any exception) is recorded and
the import goes on; a failed batch transaction is recorded for each of its photos.

People are matched by external id, then email, then name; names match only people that an import
created (metadata `imported_from`), never people enrolled by hand through the API or the admin, so a
homonym is not merged with someone else's record.
"""
from __future__ import annotations

import csv
import hashlib
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from recognition import batch as recognition_batch
from recognition.exceptions import EmailTaken, EmptyImage, ExternalIdTaken, ImageTooLarge, InvalidImage
from recognition.types import Quality

from . import faultpoints, services
from .file_journal import FileJournal
from .import_people import ImportPeople
from .import_sources import Entry, entries_from_folder, entries_from_manifest
from .models import Face, Person

logger = logging.getLogger(__name__)

# What an import reads (enrollment.import_sources), part of this module's interface for its callers.
__all__ = ["Entry", "entries_from_folder", "entries_from_manifest", "ImportOptions", "ImportSummary", "ImportRunning",
           "NotImported", "import_entries", "parse_min_quality", "quality_problem", "write_report", "journal_dir"]

# Outcomes of a photo, in the order the summary lists them. Every one but "imported" goes in the report.
REASONS = ("imported", "duplicate", "no_face", "several_faces", "unreadable", "low_quality", "bad_row", "conflict", "error")
MULTIPLE_FACES = ("largest", "skip")
QUALITY_MINIMUMS = ("detection_score", "face_size", "sharpness")
QUALITY_MAXIMUMS = ("yaw", "pitch", "roll")  # absolute degrees
DEFAULT_BATCH_SIZE = 32
# One worker per core: measured on 2 cores (bench/import.py), 2 workers with one ONNX Runtime thread each
# import ~2x faster than 1 worker, and 3 workers or 2 threads per worker lose to oversubscription.
DEFAULT_WORKERS = max(1, min(8, os.cpu_count() or 1))
REPORT_COLUMNS = ("path", "line", "person", "reason", "detail")
# Session-level advisory lock held by a running import: two imports at once could both find a photo
# missing and both store it.
_IMPORT_LOCK_ID = 0x6661636502


class ImportRunning(RuntimeError):
    """Another import is storing faces in this database right now."""


# --- Options and results -----------------------------------------------------------------------


def parse_min_quality(text: str | None) -> dict[str, float]:
    """'face_size=40,sharpness=30,yaw=35' → rules. detection_score, face_size (pixels) and sharpness
    are minimums; yaw, pitch and roll are maximum absolute angles in degrees."""
    rules: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in QUALITY_MINIMUMS + QUALITY_MAXIMUMS:
            raise ValueError(f"unknown quality measure {key!r}; use {', '.join(QUALITY_MINIMUMS + QUALITY_MAXIMUMS)}")
        try:
            rules[key] = float(value)
        except ValueError:
            raise ValueError(f"{key} needs a number, e.g. {key}=30") from None
    return rules


def quality_problem(quality: Quality, rules: dict[str, float]) -> str | None:
    failed = []
    for key, limit in rules.items():
        value = getattr(quality, key)
        if key in QUALITY_MINIMUMS and value < limit:
            failed.append(f"{key} {value:.4g} < {limit:g}")
        elif key in QUALITY_MAXIMUMS and abs(value) > limit:
            failed.append(f"|{key}| {abs(value):.1f} > {limit:g}")
    return "; ".join(failed) or None


@dataclass(frozen=True)
class ImportOptions:
    watchlist: str | None = None
    on_multiple_faces: str = "largest"
    min_quality: dict = field(default_factory=dict)
    batch_size: int = DEFAULT_BATCH_SIZE
    workers: int = DEFAULT_WORKERS
    dry_run: bool = False
    limit: int | None = None
    source_label: str = ""  # recorded in each new person's metadata (imported_from)


@dataclass(frozen=True)
class NotImported:
    entry: Entry
    reason: str
    detail: str = ""


@dataclass
class ImportSummary:
    total: int = 0
    counts: Counter = field(default_factory=Counter)
    not_imported: list[NotImported] = field(default_factory=list)
    people_created: int = 0
    several_faces_largest_used: int = 0
    files_recovered: int = 0
    seconds: float = 0.0
    stopped: bool = False
    dry_run: bool = False
    # When a list: every photo's (entry, reason, detail) as it is decided, for a caller that reports each photo
    # (the operator pages' bulk upload drains it after each batch). None keeps only the counts and the failures.
    outcomes: list | None = None

    @property
    def processed(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0

    def record(self, entry: Entry, reason: str, detail: str = "") -> None:
        self.counts[reason] += 1
        if self.outcomes is not None:
            self.outcomes.append((entry, reason, detail))
        if reason != "imported":
            self.not_imported.append(NotImported(entry, reason, detail))


def write_report(not_imported: Iterable[NotImported], path: Path) -> int:
    """CSV with one row per photo not imported: path, manifest line, person, reason, detail."""
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for item in not_imported:
            writer.writerow([str(item.entry.path), item.entry.line or "", item.entry.name, item.reason, item.detail])
            rows += 1
    return rows


# --- The import --------------------------------------------------------------------------------


def journal_dir() -> Path:
    return Path(settings.VAR_DIR) / "import-journal"


def import_entries(
    entries: list[Entry],
    options: ImportOptions = ImportOptions(),
    *,
    progress: Callable[[ImportSummary, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    keep_outcomes: bool = False,
) -> ImportSummary:
    """Import `entries` in batches; `progress(summary, photos_done_in_batch)` after each batch,
    `should_stop()` checked before each (Ctrl-C stops cleanly between batches). With `keep_outcomes`,
    `summary.outcomes` lists every photo's outcome as it is decided.

    When it stops early, every batch it started is finished: `summary.processed` photos, the first ones of
    `entries`, are done, and importing the rest later continues where it stopped."""
    if options.on_multiple_faces not in MULTIPLE_FACES:
        raise ValueError(f"on_multiple_faces must be one of {MULTIPLE_FACES}")
    if options.batch_size < 1 or options.workers < 1:
        raise ValueError("batch_size and workers must be at least 1")
    entries = entries[: options.limit] if options.limit is not None else entries
    summary = ImportSummary(total=len(entries), dry_run=options.dry_run, outcomes=[] if keep_outcomes else None)
    started = time.perf_counter()
    journal = None
    if not options.dry_run:
        _lock()
        try:
            summary.files_recovered = FileJournal.recover(journal_dir())
            journal = FileJournal(journal_dir())
        except BaseException:
            _unlock()
            raise
        faultpoints.reached("import.started")
    executor = ThreadPoolExecutor(options.workers, thread_name_prefix="import")
    run = _Run(options, summary, journal, executor)
    try:
        # A pipeline two batches deep: the workers decode, detect and embed batch k+1 while this
        # thread stores batch k.
        in_flight = None
        for chunk in _chunks(entries, options.batch_size):
            if should_stop is not None and should_stop():
                summary.stopped = True
                break
            prepared = run.prepare(chunk)
            if in_flight is not None:
                run.finish(in_flight)
                _report(summary, started, progress, in_flight)
            in_flight = prepared
            if should_stop is not None and should_stop():
                summary.stopped = True
                break
        if in_flight is not None:
            run.finish(in_flight)
            _report(summary, started, progress, in_flight)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        if journal is not None:
            journal.close()
            _unlock()
        summary.seconds = time.perf_counter() - started
    return summary


def _lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_IMPORT_LOCK_ID])
        if not cursor.fetchone()[0]:
            raise ImportRunning("Another import is running on this database; wait for it to finish (or stop it) and run again.")


def _unlock() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_IMPORT_LOCK_ID])
    except DatabaseError:  # a broken connection or transaction: the lock goes with the connection
        logger.warning("could not release the import lock", exc_info=True)


def _report(summary: ImportSummary, started: float, progress, prepared: "_Prepared") -> None:
    summary.seconds = time.perf_counter() - started
    if progress is not None:
        progress(summary, len(prepared.entries))


@dataclass
class _Prepared:
    entries: list[Entry]
    pending: list[tuple[Entry, bytes, str]]
    photos: list  # futures of lists of recognition.batch.Photo, in order


class _Run:
    def __init__(self, options: ImportOptions, summary: ImportSummary, journal: FileJournal | None, executor):
        self.options = options
        self.summary = summary
        self.journal = journal
        self.executor = executor
        self.claimed: dict[str, Entry] = {}  # content hash → the first entry sent on with it in this run
        self.people = ImportPeople(options)

    def prepare(self, entries: list[Entry]) -> _Prepared:
        """Read and hash a batch, drop what is stored already, and hand the rest to the workers."""
        pending: list[tuple[Entry, bytes, str]] = []
        for entry in entries:
            if entry.problem:
                self.summary.record(entry, "bad_row", entry.problem)
                continue
            try:
                data = entry.path.read_bytes()
            except FileNotFoundError:
                self.summary.record(entry, "unreadable", "file not found")
                continue
            except OSError as exc:
                self.summary.record(entry, "unreadable", f"cannot read the file: {exc.strerror or exc}")
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest in self.claimed:
                self.summary.record(entry, "duplicate", f"same photo as {self.claimed[digest].path}")
                continue
            self.claimed[digest] = entry
            pending.append((entry, data, digest))
        stored = dict(Face.objects.filter(source_sha256__in=[d for _, _, d in pending]).values_list("source_sha256", "person_id"))
        refile = []
        for entry, _, digest in pending:
            if digest in stored:
                self.summary.record(entry, "duplicate", "already imported (same content hash)")
                if not self.options.dry_run and (self.options.watchlist or entry.watchlists):
                    refile.append((entry, stored[digest]))
        if refile:
            # Re-running with --watchlist (or new manifest watchlists) still files the people already imported.
            owners = Person.objects.in_bulk({person_id for _, person_id in refile})
            with transaction.atomic():
                for entry, person_id in refile:
                    self.people.add_to_watchlists(owners[person_id], entry)
        pending = [p for p in pending if p[2] not in stored]
        datas = [data for _, data, _ in pending]
        # One task per worker: each decodes and detects its share of the photos, then embeds their
        # largest faces in one batch.
        share = -(-len(datas) // self.options.workers) if datas else 1
        tasks = [
            self.executor.submit(recognition_batch.analyse_many, datas[start : start + share], largest_only=True)
            for start in range(0, len(datas), share)
        ]
        return _Prepared(entries, pending, tasks)

    def finish(self, prepared: _Prepared) -> None:
        """Wait for the workers' results, apply the face and quality rules, and store what passes."""
        photos = [photo for task in prepared.photos for photo in task.result()]
        ready = []
        for (entry, data, digest), photo in zip(prepared.pending, photos):
            reason, detail = self._check(photo)
            if reason:
                self.summary.record(entry, reason, detail)
            else:
                ready.append((entry, data, digest, photo.faces[0]))
                self.summary.several_faces_largest_used += photo.faces_detected > 1
        if self.options.dry_run:
            for entry, _, _, _ in ready:
                self.people.resolve(entry, dry_run=True)
                self.summary.record(entry, "imported")
            self.summary.people_created = self.people.created
            return
        self._store(ready)

    def _check(self, photo: recognition_batch.Photo) -> tuple[str | None, str]:
        if photo.error is not None:
            if isinstance(photo.error, (InvalidImage, EmptyImage, ImageTooLarge)):
                return "unreadable", photo.error.message
            return "error", f"{type(photo.error).__name__}: {photo.error}"
        if photo.faces_detected == 0:
            return "no_face", "no face detected"
        if photo.faces_detected > 1 and self.options.on_multiple_faces == "skip":
            return "several_faces", f"{photo.faces_detected} faces detected"
        problem = quality_problem(photo.faces[0].quality, self.options.min_quality)
        if problem:
            return "low_quality", problem
        return None, ""

    def _store(self, ready) -> None:
        done = []
        try:
            with transaction.atomic():
                for entry, data, digest, face in ready:
                    try:
                        with transaction.atomic():
                            person = self.people.resolve(entry)
                            sample = services.sample_from_detection(face, source=f"import:{entry.path}", source_image=data, source_name=entry.path.name)
                            # A labelled collection: the folder or manifest says whose face it is (the import has rules of its
                            # own: --min-quality, --on-multiple-faces), so no duplicate check against other people.
                            services.add_face(person, sample, journal=self.journal, check_duplicates=False)
                            self.people.add_to_watchlists(person, entry)
                    except (EmailTaken, ExternalIdTaken) as exc:
                        self.people.forget_uncommitted()
                        self.summary.record(entry, "conflict", exc.message)
                    except Exception as exc:  # one photo's failure never stops the import
                        self.people.forget_uncommitted()
                        self.summary.record(entry, "error", f"{type(exc).__name__}: {exc}")
                    else:
                        self.people.keep_uncommitted()
                        done.append((entry, digest))
                        faultpoints.reached("import.photo_stored")  # its files and row written, the batch not committed
        except BaseException as exc:
            self.journal.rolled_back()
            self.people.forget_batch()
            if not isinstance(exc, Exception):
                raise  # Ctrl-C twice, SystemExit: the batch is rolled back and its files deleted
            for entry, _ in done:
                self.summary.record(entry, "error", f"the batch's transaction failed: {type(exc).__name__}: {exc}")
            return
        faultpoints.reached("import.batch_committed")  # the rows are in, the journal still lists the files
        self.journal.committed()
        self.people.commit_batch()
        faultpoints.reached("import.batch_done")
        for entry, _ in done:
            self.summary.record(entry, "imported")
        self.summary.people_created = self.people.created


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
