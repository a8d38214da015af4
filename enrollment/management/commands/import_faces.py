import datetime as dt
import signal
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from enrollment import importing
from recognition import batch


class Command(BaseCommand):
    help = (
        "Import a photo collection: PATH is a folder with one sub-folder per person, named after the person "
        "(underscores become spaces), holding that person's photos; or give --manifest FILE.csv instead. "
        "Each photo's largest face is enrolled through the same services as the API. Idempotent and resumable: "
        "a photo whose content (SHA-256) is already stored is skipped, so re-running after a crash or Ctrl-C "
        "imports only what is missing. People are matched by external id, then email, then name (names match only "
        "people an import created), never duplicated. A failure on one photo never stops the import. Ends with a "
        "summary and a CSV report of every photo not imported and why (columns: path, line, person, reason, detail; "
        "reasons: duplicate, no_face, several_faces, unreadable, low_quality, bad_row, conflict, error). "
        "Ctrl-C stops cleanly after the current batch (twice: at once, rolling the batch back)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="Folder of per-person sub-folders (omit with --manifest).")
        parser.add_argument(
            "--manifest",
            metavar="FILE.csv",
            help="CSV of photos: image path (relative to the CSV's folder or absolute), name, and optional email, "
            "birthdate (YYYY-MM-DD), external id, watchlists (separated by ';'). A header row "
            "(image,name,email,birthdate,external_id,watchlists) lets columns come in any order.",
        )
        parser.add_argument("--watchlist", metavar="NAME", help="Add every imported person to this watchlist (created if missing).")
        parser.add_argument(
            "--on-multiple-faces",
            choices=importing.MULTIPLE_FACES,
            default="largest",
            help="A photo with several faces: enrol its largest face (default), or skip the photo (reason several_faces).",
        )
        parser.add_argument(
            "--min-quality",
            metavar="RULES",
            default="",
            help="Skip faces below these quality rules (reason low_quality), e.g. 'face_size=60,sharpness=20,yaw=35': "
            "detection_score, face_size (pixels, shorter side of the box) and sharpness (variance of the Laplacian) "
            "are minimums; yaw, pitch and roll are maximum absolute angles in degrees. Default: no rules.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=importing.DEFAULT_BATCH_SIZE,
            help=f"Photos per batch (default {importing.DEFAULT_BATCH_SIZE}): shared among the workers, each embedding "
            "the faces of its share together; stored "
            "in one transaction, so a kill loses at most one batch.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=importing.DEFAULT_WORKERS,
            help=f"Threads decoding, detecting and embedding in parallel (default: one per CPU, here "
            f"{importing.DEFAULT_WORKERS}; measured best on 2 cores, see bench/import.py). Each ONNX Runtime session "
            "then gets FACEAPP_ORT_THREADS / workers threads (at least 1), so the cores are not oversubscribed.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Read, detect and check everything, store nothing.")
        parser.add_argument("--limit", type=int, metavar="N", help="Only the first N photos (in path order).")
        parser.add_argument(
            "--report",
            metavar="FILE.csv",
            help="Where to write the report of photos not imported (default: import-report-<UTC time>.csv here).",
        )
        parser.add_argument(
            "--in-background",
            action="store_true",
            help="Queue the import for the background workers (the imports queue, FACEAPP_IMPORT_TIMEOUT_SECONDS at "
            "most) and return at once; the worker logs the summary and writes the report. PATH or the manifest must "
            "be readable by the workers (shared storage on several nodes).",
        )

    def handle(self, *args, path=None, manifest=None, **options):
        if bool(path) == bool(manifest):
            raise CommandError("Give either PATH (a folder of per-person folders) or --manifest FILE.csv.")
        try:
            min_quality = importing.parse_min_quality(options["min_quality"])
        except ValueError as exc:
            raise CommandError(f"--min-quality: {exc}") from None
        if options["batch_size"] < 1 or options["workers"] < 1 or (options["limit"] is not None and options["limit"] < 0):
            raise CommandError("--batch-size and --workers must be at least 1, --limit at least 0.")
        source = Path(manifest or path)
        try:
            entries = importing.entries_from_manifest(source) if manifest else importing.entries_from_folder(source)
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {source}: {exc}") from None
        import_options = importing.ImportOptions(
            watchlist=options["watchlist"],
            on_multiple_faces=options["on_multiple_faces"],
            min_quality=min_quality,
            batch_size=options["batch_size"],
            workers=options["workers"],
            dry_run=options["dry_run"],
            limit=options["limit"],
            source_label=str(source.resolve()),
        )
        if options["in_background"]:
            self._queue(source, bool(manifest), import_options, options["report"])
            return
        total = len(entries) if options["limit"] is None else min(len(entries), options["limit"])
        threads = batch.share_cores(options["workers"])
        if options["verbosity"] >= 2 and threads is not None:
            self.stdout.write(f"{options['workers']} workers, {threads} ONNX Runtime thread(s) per session")
        stop = _StopOnInterrupt(self.stderr)
        bar = tqdm(total=total, unit="img", desc="dry run" if options["dry_run"] else "import", file=sys.stderr, dynamic_ncols=True)

        def progress(summary, done):
            c = summary.counts
            bar.set_postfix(
                imported=c["imported"],
                no_face=c["no_face"],
                several=c["several_faces"],
                unreadable=c["unreadable"],
                duplicate=c["duplicate"],
                other=c["low_quality"] + c["bad_row"] + c["conflict"] + c["error"],
                refresh=False,
            )
            bar.update(done)

        try:
            with stop:
                summary = importing.import_entries(entries, import_options, progress=progress, should_stop=stop.requested)
        except importing.ImportRunning as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        self._print_summary(summary, source)
        if summary.not_imported:
            report = Path(options["report"] or f"import-report-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.csv")
            rows = importing.write_report(summary.not_imported, report)
            self.stdout.write(f"Report of the {rows} photos not imported: {report}")
        else:
            self.stdout.write("Every photo was imported: no report.")

    def _queue(self, source: Path, manifest: bool, import_options, report) -> None:
        from dataclasses import asdict

        from django.conf import settings

        from faceapp import taskqueue

        options = {k: v for k, v in asdict(import_options).items() if k != "source_label"}
        try:
            task_id = taskqueue.enqueue(
                "imports", "enrollment.tasks.run_import", str(source.resolve()), manifest=manifest, options=options,
                report=str(Path(report).resolve()) if report else None,
                task_name=f"import {source}", timeout=settings.FACEAPP_IMPORT_TIMEOUT_SECONDS,
            )
        except Exception as exc:  # the broker (Redis) is unreachable: say so, nothing was queued
            raise CommandError(f"Could not queue the import ({type(exc).__name__}: {exc}); nothing was queued.") from None
        self.stdout.write(
            f"Queued the import of {source} as task {task_id} on the queue "
            f"{taskqueue.queue_name('imports')}; the worker logs its summary and writes the report."
        )

    def _print_summary(self, summary, source):
        c = summary.counts
        verb = "would import" if summary.dry_run else "imported"
        state = "stopped by Ctrl-C after" if summary.stopped else "done:"
        self.stdout.write(
            f"{source}: {state} {summary.processed} of {summary.total} photos in {summary.seconds:.1f} s "
            f"({summary.rate:.1f} photos/s)"
        )
        several = summary.several_faces_largest_used
        self.stdout.write(
            f"  {verb} {c['imported']}"
            + (f" ({several} of them from photos with several faces, largest face used)" if several else "")
            + f"; people {'to create' if summary.dry_run else 'created'}: {summary.people_created}"
        )
        for reason in importing.REASONS[1:]:
            if c[reason]:
                self.stdout.write(f"  {reason}: {c[reason]}")
        if summary.files_recovered:
            self.stdout.write(f"  deleted {summary.files_recovered} files left by an interrupted import")
        if summary.stopped:
            self.stdout.write("  Run the same command again to import the rest.")


class _StopOnInterrupt:
    """The first Ctrl-C (or SIGTERM) asks to stop after the current batch; a second one interrupts at once."""

    def __init__(self, stderr):
        self.stderr = stderr
        self.flag = False
        self.previous = {}

    def requested(self) -> bool:
        return self.flag

    def _handle(self, signum, frame):
        if self.flag:
            raise KeyboardInterrupt
        self.flag = True
        self.stderr.write("\nStopping after the current batch (Ctrl-C again to abort it)...")

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. called from a test thread): no handler
                pass
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        return False
