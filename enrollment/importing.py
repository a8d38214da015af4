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
its rows roll back, and the files it had written are listed in a `services.FileJournal` that the next
run deletes. A failure on one photo (unreadable, no face, a conflict, any exception) is recorded and
the import goes on; a failed batch transaction is recorded for each of its photos.

People are matched by external id, then email, then name; names match only people that an import
created (metadata `imported_from`), never people enrolled by hand through the API or the admin, so a
homonym is not merged with someone else's record.
"""
from __future__ import annotations

import csv
import datetime as dt
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
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, connection, transaction

from recognition import batch as recognition_batch
from recognition.exceptions import EmailTaken, EmptyImage, ExternalIdTaken, ImageTooLarge, InvalidImage
from recognition.types import Quality

from . import faultpoints, services
from .validators import validate_birthdate
from .models import Face, Person, Watchlist

logger = logging.getLogger(__name__)

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


# --- Sources -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One photo to import and whose it is."""

    path: Path
    name: str
    email: str | None = None
    birthdate: dt.date | None = None
    external_id: str | None = None
    watchlists: tuple[str, ...] = ()
    line: int | None = None  # the manifest line it came from
    problem: str | None = None  # why this row cannot be imported at all (a bad manifest row)


def entries_from_folder(root: Path) -> list[Entry]:
    """Sub-folder per person (underscores in its name become spaces), every file in it a photo.

    Files directly in `root` belong to nobody and come back as bad rows. Hidden files are ignored.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    entries = []
    for path in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if path.is_file():
            entries.append(Entry(path=path, name="", problem="not in a person's folder"))
        elif path.is_dir():
            name = " ".join(path.name.replace("_", " ").split())
            entries += [Entry(path=f, name=name) for f in sorted(path.iterdir()) if f.is_file() and not f.name.startswith(".")]
    return entries


_COLUMN_NAMES = {
    "path": ("image", "image_path", "path", "file", "photo", "filename"),
    "name": ("name", "full_name"),
    "email": ("email", "e_mail"),
    "birthdate": ("birthdate", "birth_date", "date_of_birth", "dob"),
    "external_id": ("external_id", "externalid", "employee_id"),
    "watchlists": ("watchlists", "watchlist"),
}
_POSITIONAL = ("path", "name", "email", "birthdate", "external_id", "watchlists")


def entries_from_manifest(manifest: Path) -> list[Entry]:
    """A CSV file: image path (relative to the manifest's folder, or absolute), name, and optionally
    email, birthdate (YYYY-MM-DD), external id, watchlists (separated by ';' or '|').

    A header row naming the columns (e.g. `image,name,email,birthdate,external_id,watchlists`) lets them
    come in any order; without one they are taken in that order. Blank lines and lines starting with
    '#' are skipped. A row that cannot be imported comes back with its `problem`.
    """
    manifest = Path(manifest)
    base = manifest.resolve().parent
    with open(manifest, newline="", encoding="utf-8-sig") as handle:
        rows = [(number, row) for number, row in enumerate(csv.reader(handle), start=1)]
    rows = [(n, [c.strip() for c in r]) for n, r in rows if any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    columns = list(_POSITIONAL)
    if rows and _header(rows[0][1]) is not None:
        columns = _header(rows[0][1])
        rows = rows[1:]
    entries = []
    for number, row in rows:
        values = {column: (row[i] if i < len(row) else "") for i, column in enumerate(columns) if column}
        entries.append(_entry_from_row(values, base, number))
    return entries


def _header(cells: list[str]) -> list[str | None] | None:
    lookup = {alias: column for column, aliases in _COLUMN_NAMES.items() for alias in aliases}
    columns = [lookup.get("_".join(c.lower().replace("-", " ").split())) for c in cells]
    return columns if "path" in columns and "name" in columns else None


def _entry_from_row(values: dict[str, str], base: Path, number: int) -> Entry:
    raw_path, name = values.get("path", ""), " ".join(values.get("name", "").split())
    path = (base / raw_path) if raw_path else base
    problems = []
    if not raw_path:
        problems.append("no image path")
    if not name:
        problems.append("no name")
    email = values.get("email") or None
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"bad email {email!r}")
    birthdate = None
    if values.get("birthdate"):
        try:
            birthdate = dt.date.fromisoformat(values["birthdate"])
            validate_birthdate(birthdate)
        except ValueError:
            problems.append(f"bad birthdate {values['birthdate']!r} (use YYYY-MM-DD)")
        except ValidationError:
            birthdate = None
            problems.append(f"bad birthdate {values['birthdate']!r} (from 1800-01-01 to today)")
    watchlists = tuple(w.strip() for w in values.get("watchlists", "").replace("|", ";").split(";") if w.strip())
    return Entry(
        path=path,
        name=name,
        email=email,
        birthdate=birthdate,
        external_id=values.get("external_id") or None,
        watchlists=watchlists,
        line=number,
        problem="; ".join(problems) or None,
    )


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
            summary.files_recovered = services.FileJournal.recover(journal_dir())
            journal = services.FileJournal(journal_dir())
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
    def __init__(self, options: ImportOptions, summary: ImportSummary, journal: services.FileJournal | None, executor):
        self.options = options
        self.summary = summary
        self.journal = journal
        self.executor = executor
        self.claimed: dict[str, Entry] = {}  # content hash → the first entry sent on with it in this run
        self.people = _People(options)

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


class _People:
    """Finds or creates the person of each entry: external id, then email, then name (among imported people)."""

    def __init__(self, options: ImportOptions):
        self.options = options
        self.cache: dict[tuple, Person] = {}  # committed
        self.batch_cache: dict[tuple, Person] = {}  # in the open batch transaction
        self.uncommitted: dict[tuple, Person] = {}  # in the open photo savepoint
        self.created = 0
        self.batch_created = 0
        self.uncommitted_created = 0
        self.watchlists: dict[str, Watchlist] = {}
        self.dry_run_keys: set[tuple] = set()

    @staticmethod
    def _keys(entry: Entry) -> list[tuple]:
        keys = []
        if entry.external_id:
            keys.append(("external_id", entry.external_id))
        email = services.normalise_email(entry.email)
        if email:
            keys.append(("email", email))
        keys.append(("name", entry.name.casefold()))
        return keys

    def _cached(self, key):
        return self.uncommitted.get(key) or self.batch_cache.get(key) or self.cache.get(key)

    def _lookup(self, key) -> Person | None:
        kind, value = key
        if kind == "external_id":
            return Person.objects.filter(external_id=value).first()
        if kind == "email":
            return Person.objects.filter(email=value).first()
        return Person.objects.filter(name__iexact=value, metadata__has_key="imported_from").order_by("created_at").first()

    @staticmethod
    def _compatible(person: Person | None, entry: Entry) -> bool:
        """A person found by a weaker key must not contradict a stronger one the entry gives."""
        if person is None:
            return False
        email = services.normalise_email(entry.email)
        return (not entry.external_id or person.external_id in (None, entry.external_id)) and (
            not email or person.email in (None, email)
        )

    def resolve(self, entry: Entry, *, dry_run: bool = False) -> Person | None:
        keys = self._keys(entry)
        if dry_run:
            known = any(k in self.dry_run_keys for k in keys) or any(self._compatible(self._lookup(k), entry) for k in keys)
            self.created += not known
            self.dry_run_keys.update(keys)
            return None
        person = next((p for p in (self._cached(k) or self._lookup(k) for k in keys) if self._compatible(p, entry)), None)
        if person is None:
            person = services.create_person(
                name=entry.name,
                birthdate=entry.birthdate,
                email=entry.email,
                external_id=entry.external_id,
                metadata={"imported_from": self.options.source_label or "import_faces"},
            )
            self.uncommitted_created += 1
        for key in keys:
            self.uncommitted[key] = person
        return person

    def add_to_watchlists(self, person: Person, entry: Entry) -> None:
        names = ([self.options.watchlist] if self.options.watchlist else []) + list(entry.watchlists)
        lists = []
        for name in names:
            if name not in self.watchlists:
                self.watchlists[name], _ = Watchlist.objects.get_or_create(name=name)
            lists.append(self.watchlists[name])
        if lists:
            person.watchlists.add(*lists)

    def keep_uncommitted(self) -> None:
        self.batch_cache.update(self.uncommitted)
        self.batch_created += self.uncommitted_created
        self.uncommitted.clear()
        self.uncommitted_created = 0

    def forget_uncommitted(self) -> None:
        self.uncommitted.clear()
        self.uncommitted_created = 0
        # A watchlist created in a rolled-back savepoint is gone: look them up again.
        self.watchlists.clear()

    def commit_batch(self) -> None:
        self.cache.update(self.batch_cache)
        self.created += self.batch_created
        self.forget_batch()

    def forget_batch(self) -> None:
        self.forget_uncommitted()
        self.batch_cache.clear()
        self.batch_created = 0


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
