"""The sightings table becomes partitioned by range of `seen_at`, a partition per week (enrollment.sighting_partitions
says why). Every row is kept: a partitioned table is created beside the old one (same columns, defaults, generated
column, checks), the rows are copied, the old table dropped, and its indexes and foreign keys created again on the
new one under their own names (an index created on the parent is built on every partition, pgvector's HNSW ones
included). Reversible: going back rebuilds a plain table the same way.

What changes in the database, not in Django's model:
- The primary key is (id, seen_at): PostgreSQL requires a partitioned table's unique keys to include the partition
  key. Django still treats `id` (a random UUID) as the primary key; uniqueness of `id` alone is no longer enforced
  by the database.
- The two foreign keys from SightingExclusion to Sighting are kept by Django only (db_constraint=False; a foreign
  key to a partitioned table would have to name seen_at too): deletions through the ORM still cascade to them, and
  enrollment.sighting_partitions.drop_expired deletes them before dropping a week.
- `embedding` is stored PLAIN (in the row, not in TOAST), as pgvector recommends: an exact scan of a window then
  reads the vectors with the rows instead of one TOAST lookup per row.
"""
import datetime as dt

import django.db.models.deletion
from django.db import migrations, models

TABLE = "enrollment_sighting"
NEW = "enrollment_sighting_rebuilt"


def _indexes(cursor, table):
    """(name, definition) of `table`'s indexes other than its primary key."""
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary ORDER BY i.relname", [table])
    return cursor.fetchall()


def _constraints(cursor, table, kind):
    cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                   "AND contype = %s ORDER BY conname", [table, kind])
    return cursor.fetchall()


def rebuild(cursor, *, partitioned: bool, since=None):
    """Rebuild the sightings table, keeping every row: partitioned by week of seen_at (weeks from `since` on, and a
    DEFAULT partition for any other time) or, `partitioned=False`, a plain table with `id` as its primary key."""
    from enrollment import sighting_partitions

    cursor.execute("SELECT conrelid::regclass::text FROM pg_constraint WHERE confrelid = %s::regclass", [TABLE])
    referring = [row[0] for row in cursor.fetchall()]
    if referring:
        raise RuntimeError(f"foreign keys from {referring} to {TABLE} must be dropped first")
    indexes = _indexes(cursor, TABLE)
    foreign = _constraints(cursor, TABLE, "f")
    columns = ", ".join(f'"{c}"' for c in sighting_partitions.stored_columns(cursor, TABLE))
    cursor.execute("SELECT typstorage FROM pg_type WHERE typname = 'vector'")
    storage = "PLAIN" if partitioned else {"p": "PLAIN", "e": "EXTERNAL", "m": "MAIN"}.get(cursor.fetchone()[0], "EXTENDED")
    layout = " PARTITION BY RANGE (seen_at)" if partitioned else ""
    cursor.execute(f'CREATE TABLE "{NEW}" (LIKE "{TABLE}" INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS '
                   f'INCLUDING STORAGE, PRIMARY KEY ({"id, seen_at" if partitioned else "id"})){layout}')
    cursor.execute(f'ALTER TABLE "{NEW}" ALTER COLUMN embedding SET STORAGE {storage}')
    if partitioned:
        sighting_partitions.ensure(since=since, parent=NEW)
    cursor.execute(f'INSERT INTO "{NEW}" ({columns}) SELECT {columns} FROM "{TABLE}"')
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check may be pending on the table dropped
    cursor.execute(f'DROP TABLE "{TABLE}"')
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    cursor.execute(f'ALTER TABLE "{NEW}" RENAME TO "{TABLE}"')
    cursor.execute(f'ALTER TABLE "{TABLE}" RENAME CONSTRAINT "{NEW}_pkey" TO "{TABLE}_pkey"')
    if partitioned:  # the partitions were named after the temporary name
        for partition in sighting_partitions.partitions(cursor, TABLE):
            cursor.execute(f'ALTER TABLE "{partition.name}" RENAME TO "{TABLE}{partition.name[len(NEW):]}"')
    cursor.execute("SET maintenance_work_mem = '256MB'")  # HNSW builds are much faster when the graph fits
    for _, definition in indexes:
        cursor.execute(definition.replace(" ON ONLY ", " ON "))
    cursor.execute("RESET maintenance_work_mem")
    for name, definition in foreign:
        cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{name}" {definition}')
    cursor.execute(f'ANALYZE "{TABLE}"')


def partition(apps, schema_editor):
    from django.conf import settings
    from django.utils import timezone

    with schema_editor.connection.cursor() as cursor:
        # Partitions for the whole retention window (older rows, soon deleted, wait in DEFAULT), so that sightings
        # of the past recorded later (imports) land in their own week too.
        kept = max(settings.FACEAPP_SIGHTING_RETENTION_DAYS.values(), default=30)
        rebuild(cursor, partitioned=True, since=timezone.now() - dt.timedelta(days=float(kept) + 7))


def unpartition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        rebuild(cursor, partitioned=False)


class Migration(migrations.Migration):

    dependencies = [
        ('enrollment', '0012_face_and_sighting_estimates'),
    ]

    operations = [
        migrations.AlterField(
            model_name='sightingexclusion',
            name='sighting',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name='exclusions', to='enrollment.sighting'),
        ),
        migrations.AlterField(
            model_name='sightingexclusion',
            name='other',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=django.db.models.deletion.CASCADE, related_name='+',
                                    to='enrollment.sighting'),
        ),
        migrations.RunPython(partition, unpartition),
    ]
