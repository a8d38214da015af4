"""The sightings table is partitioned by time of `seen_at` (migration 0013), a partition per week by default
(FACEAPP_SIGHTING_PARTITION_DAYS): this module keeps its partitions.

Why partitions: one HNSW graph over every sighting does not serve a time filter at a million rows (the walk visits
and discards tens of thousands of entries outside the window, p95 ~1 s, recall@50 0.85; docs/unknowns.md). Each
partition has its own graph (an index created on the parent is built on every partition), and a time filter prunes
the partitions outside the window, so a window walks the graphs of the few partitions it overlaps. Retention drops
whole partitions instead of deleting row by row.

- `ensure`: the DEFAULT partition (an insert with any `seen_at` never fails) and a partition per period (a week:
  Monday 00:00 UTC to the next; a day: midnight UTC to the next) from a given time to `AHEAD` ahead; called at
  migrate time and by the expiry job. A change of the period applies to the partitions created after it (those
  already there are kept and never overlapped).
- `drop_expired`: whole partitions past every source's retention go, with their exclusions and crop files.
  Rows past retention in a partition that still holds newer rows are left to the row-by-row deletion
  (enrollment.sightings.delete_expired), as is the DEFAULT partition.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from django.db import connection, transaction

logger = logging.getLogger(__name__)

TABLE = "enrollment_sighting"
EXCLUSIONS = "enrollment_sightingexclusion"
AHEAD = dt.timedelta(days=28)  # the expiry job runs every minute: partitions ahead only cover a long stop of workers
EPOCH = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)  # a Monday: periods of 7 days start on Mondays, of 1 day at midnight
BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True)
class Partition:
    name: str
    low: dt.datetime | None  # None: the DEFAULT partition
    high: dt.datetime | None
    rows: float = 0.0  # PostgreSQL's estimate (pg_class.reltuples, kept by ANALYZE; 0 before the first)


def length() -> dt.timedelta:
    """A partition's span of time (FACEAPP_SIGHTING_PARTITION_DAYS, whole days)."""
    from django.conf import settings

    return dt.timedelta(days=max(1, int(settings.FACEAPP_SIGHTING_PARTITION_DAYS)))


def period_of(when: dt.datetime) -> dt.datetime:
    """The start of the period holding `when` (Monday 00:00 UTC of its week, for weeks)."""
    return EPOCH + ((when - EPOCH) // length()) * length()


def name_of(low: dt.datetime, parent: str = TABLE) -> str:
    return f"{parent}_p{low:%Y%m%d}"


def partitions(cursor, parent: str = TABLE) -> list[Partition]:
    """The partitions of `parent`, oldest first, the DEFAULT one last."""
    # Bounds are printed in the session's time zone: Django's connections are in UTC (USE_TZ), and the offset is
    # printed and parsed anyway.
    cursor.execute("SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), greatest(c.reltuples, 0) FROM pg_inherits i "
                   "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass", [parent])
    found = []
    for name, bound, rows in cursor.fetchall():
        match = BOUND.search(bound or "")
        if match is None:
            found.append(Partition(name, None, None, float(rows)))
        else:
            low, high = (dt.datetime.fromisoformat(value) for value in match.groups())
            found.append(Partition(name, low, high, float(rows)))
    return sorted(found, key=lambda p: (p.low is None, p.low or dt.datetime.min.replace(tzinfo=dt.UTC)))


def stored_columns(cursor, table: str = TABLE) -> list[str]:
    """Columns that can be written (not the generated `embedding_model_name`)."""
    cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                   "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position", [table])
    return [row[0] for row in cursor.fetchall()]


def ensure(*, now: dt.datetime | None = None, since: dt.datetime | None = None, ahead: dt.timedelta = AHEAD,
           parent: str = TABLE) -> list[str]:
    """Create what is missing of: the DEFAULT partition, and a partition per period from `since`'s (default:
    `now`'s) to the one holding `now` + `ahead`. → the names created. Cheap when nothing is missing (one catalogue
    query), so the expiry job calls it every run."""
    from django.utils import timezone

    now = now or timezone.now()
    first, last, step = period_of(since or now), period_of(now + ahead), length()
    created = []
    with transaction.atomic(), connection.cursor() as cursor:
        # One at a time (expiry jobs of several nodes): the second sees what the first created.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"faceapp:partitions:{parent}"])
        existing = partitions(cursor, parent)
        have = {p.low for p in existing if p.low is not None}
        if not any(p.low is None for p in existing):
            cursor.execute(f'CREATE TABLE "{parent}_default" PARTITION OF "{parent}" DEFAULT')
            created.append(f"{parent}_default")
        low = first
        while low <= last:
            if low not in have and not any(p.low is not None and p.low < low + step and low < p.high for p in existing):
                _create(cursor, parent, low, low + step)
                created.append(name_of(low, parent))
            low += step
    if created:
        logger.info("sighting partitions created: %s", ", ".join(created))
    return created


def _create(cursor, parent: str, low: dt.datetime, high: dt.datetime) -> None:
    """A period's partition. Rows of that period already in the DEFAULT partition (a clock far ahead, an import of old
    sightings) would make PostgreSQL refuse it: they are moved out first and back in through the parent."""
    name, default = name_of(low, parent), f"{parent}_default"
    # Deferred foreign-key checks pending on these rows (inserted earlier in this transaction) would also make
    # PostgreSQL refuse to change the partitions: check them now; they are deferred again after.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{default}" WHERE seen_at >= %s AND seen_at < %s)', [low, high])
    moving = cursor.fetchone()[0]
    if moving:
        columns = ", ".join(f'"{c}"' for c in stored_columns(cursor, parent))
        cursor.execute(f'CREATE TEMPORARY TABLE sighting_partition_moving ON COMMIT DROP AS '
                       f'SELECT {columns} FROM "{parent}" WITH NO DATA')
        cursor.execute(f'WITH moved AS (DELETE FROM "{default}" WHERE seen_at >= %s AND seen_at < %s RETURNING {columns}) '
                       f'INSERT INTO sighting_partition_moving SELECT {columns} FROM moved', [low, high])
    cursor.execute(f'CREATE TABLE "{name}" PARTITION OF "{parent}" FOR VALUES FROM (%s) TO (%s)', [low, high])
    if moving:
        cursor.execute(f'INSERT INTO "{parent}" ({columns}) SELECT {columns} FROM sighting_partition_moving')
        cursor.execute("DROP TABLE sighting_partition_moving")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def drop_expired(retention_days: dict[str, float], *, now: dt.datetime | None = None) -> int:
    """Drop each partition that ends before every source's retention cutoff and holds only sightings of
    those sources; their exclusions go with them, their crop files once the drop commits. → sightings dropped."""
    from django.utils import timezone

    from .models import Sighting

    if not retention_days:
        return 0
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=float(max(retention_days.values())))
    storage = Sighting._meta.get_field("crop").storage
    dropped = 0
    with connection.cursor() as cursor:
        with transaction.atomic():
            expired = [p for p in partitions(cursor) if p.high is not None and p.high <= cutoff]
        for partition in expired:
            with transaction.atomic():
                cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{partition.name}" WHERE source <> ALL(%s))',
                               [list(retention_days)])
                if cursor.fetchone()[0]:  # a source without a retention: its rows are kept, so is the partition
                    continue
                cursor.execute(f'SELECT crop FROM "{partition.name}"')
                crops = [row[0] for row in cursor.fetchall()]
                # The exclusions' foreign keys are Django's, not PostgreSQL's (a key to a partitioned table must
                # include seen_at): delete them here, as the ORM's cascade would.
                cursor.execute(f'DELETE FROM "{EXCLUSIONS}" WHERE sighting_id IN (SELECT id FROM "{partition.name}") '
                               f'OR other_id IN (SELECT id FROM "{partition.name}")')
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # see _create
                cursor.execute(f'DROP TABLE "{partition.name}"')
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                transaction.on_commit(lambda names=crops: [storage.delete(name) for name in names if name])
            dropped += len(crops)
            logger.info("retention: dropped sighting partition %s (%d sightings)", partition.name, len(crops))
    return dropped


def rows_in_window(since: dt.datetime | None, until: dt.datetime | None) -> tuple[float, float, int]:
    """(estimated sightings within [since, until], their share of the rows of the partitions the window overlaps,
    how many of those hold rows: the index walks a search makes), from the partitions' statistics (pg_class.reltuples,
    kept by autovacuum's ANALYZE) and the window's overlap with each partition, taking its rows as spread evenly over
    its period. The DEFAULT partition's rows all count as in the window: an overestimate only makes the search
    choose the index walk, which is never short."""
    from django.utils import timezone

    # A naive time (manage.py search_sightings --since 2026-12-01T00:00) means the default zone, as Django reads it.
    since, until = (timezone.make_aware(t) if t is not None and timezone.is_naive(t) else t for t in (since, until))
    low = since or dt.datetime.min.replace(tzinfo=dt.UTC)
    high = until or dt.datetime.max.replace(tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        found = partitions(cursor)
    inside = touched = 0.0
    walks = 0
    for partition in found:
        rows = partition.rows
        overlap = 1.0 if partition.low is None else (
            (min(high, partition.high) - max(low, partition.low)) / (partition.high - partition.low))
        if overlap > 0 and rows > 0:
            inside, touched, walks = inside + rows * overlap, touched + rows, walks + 1
    return inside, (inside / touched if touched else 1.0), walks
