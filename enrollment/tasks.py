"""Background tasks run by django-q2: the expiry sweep (scheduled by a migration), and imports queued with
`import_faces --in-background` (the imports queue, so that a big import never holds up the cameras' work)."""
import datetime as dt
import logging
from pathlib import Path

from . import importing
from .pending import delete_expired_pending

logger = logging.getLogger(__name__)


def delete_expired_pending_enrollments() -> int:
    """The expiry job (every minute): pending enrolments past their expiry, and sightings past their retention; it
    also creates the sightings table's coming partitions (enrollment.sighting_partitions)."""
    from .sighting_partitions import ensure
    from .sightings import delete_expired

    ensure()

    deleted = delete_expired_pending()
    if deleted:
        logger.info("deleted %d expired pending enrolments", deleted)
    return deleted + delete_expired()


def sweep_unknown_groups() -> dict:
    """The periodic re-clustering of unknown sightings (enrollment.sweep), scheduled by a migration."""
    from .sweep import sweep

    return sweep().as_dict()


def refresh_cohort_statistics() -> int:
    """AS-norm's statistics of enrolled faces that are missing or stale (enrollment.cohort), a batch per run."""
    from .cohort import refresh_stale

    return refresh_stale()


def run_import(source: str, *, manifest: bool, options: dict, report: str | None = None) -> dict:
    """Import a folder (or a manifest) as `import_faces` does, on a worker; → the summary's counts.

    Imports are idempotent and resumable, so a task given again after its worker died (the broker's lease ran
    out) continues where the dead one stopped. The report of photos not imported is written to `report` (default:
    import-report-<UTC time>.csv in the worker's current folder) and its path logged."""
    path = Path(source)
    entries = importing.entries_from_manifest(path) if manifest else importing.entries_from_folder(path)
    summary = importing.import_entries(entries, importing.ImportOptions(**options, source_label=str(path.resolve())))
    counts = {reason: count for reason, count in summary.counts.items() if count}
    logger.info("import of %s: %d of %d photos in %.1f s; %s; people created: %d", source, summary.processed,
                summary.total, summary.seconds, counts, summary.people_created)
    written = None
    if summary.not_imported:
        written = Path(report or f"import-report-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.csv")
        importing.write_report(summary.not_imported, written)
        logger.info("import of %s: report of the %d photos not imported: %s", source, len(summary.not_imported), written)
    return {"counts": counts, "people_created": summary.people_created, "report": str(written) if written else None}
