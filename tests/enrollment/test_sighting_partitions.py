"""The sightings table partitioned by week of seen_at (migration 0013, enrollment.sighting_partitions): the rebuild
keeps every row, any seen_at has a partition, the retention job drops whole weeks with their crops and exclusions,
and a time-filtered search across a partition boundary is as full as an exact scan."""
import datetime as dt
import importlib
from pathlib import Path

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from enrollment import sighting_partitions, sighting_search, sightings, tasks
from enrollment.identification import current_embedding_model
from enrollment.models import Sighting, SightingExclusion
from enrollment.images import encode_jpeg
from recognition.attributes import FaceAttributes
from recognition.embedders import MODELS

migration = importlib.import_module("enrollment.migrations.0013_partition_sightings")
JPEG = encode_jpeg(np.zeros((16, 16, 3), dtype=np.uint8))


def add(seen_at, rng, *, source="camera") -> Sighting:
    """A sighting of a random face of the current model, seen at `seen_at` (with its crop file)."""
    model = current_embedding_model()
    dims = MODELS[model.split(":")[0]].dimensions
    vector = np.zeros(512, dtype=np.float32)
    part = rng.standard_normal(dims).astype(np.float32)
    vector[:dims] = part / np.linalg.norm(part)
    return sightings.record(embedding=vector, embedding_model=model, crop_jpeg=JPEG, source=source, seen_at=seen_at,
                            verdict="unknown", group_unknown=False, estimates=FaceAttributes())


def query_vector(rng):
    dims = MODELS[current_embedding_model().split(":")[0]].dimensions
    query = np.zeros(512, dtype=np.float32)
    query[:dims] = rng.standard_normal(dims)
    return query / np.linalg.norm(query)


def partition_of(sighting) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM enrollment_sighting WHERE id = %s", [sighting.id])
        return cursor.fetchone()[0]


def layout() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'enrollment_sighting'")
        kind = cursor.fetchone()[0]
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'enrollment_sighting_pkey'")
        key = cursor.fetchone()[0]
        indexes = sorted(name for name, _ in migration._indexes(cursor, "enrollment_sighting"))
        foreign = migration._constraints(cursor, "enrollment_sighting", "f")
    return {"kind": kind, "key": key, "indexes": indexes, "foreign": foreign}


def test_the_table_is_partitioned_by_week_with_a_default_and_every_partition_has_the_hnsw_index_and_plain_vectors(db):
    assert layout()["kind"] == "p" and layout()["key"] == "PRIMARY KEY (id, seen_at)"
    with connection.cursor() as cursor:
        found = sighting_partitions.partitions(cursor)
        assert found[-1].low is None and found[-1].name == "enrollment_sighting_default"
        now, step = timezone.now(), sighting_partitions.length()
        assert step == dt.timedelta(days=7)  # FACEAPP_SIGHTING_PARTITION_DAYS' default
        ahead = {sighting_partitions.period_of(now + k * step) for k in range(sighting_partitions.AHEAD // step + 1)}
        assert ahead <= {p.low for p in found} and all(low.weekday() == 0 for low in ahead)  # weeks from Monday
        for partition in found:
            cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s AND indexdef LIKE '%%USING hnsw%%'",
                           [partition.name])
            assert cursor.fetchone()[0] == len(MODELS), partition.name  # one per model, built from the parent's
            cursor.execute("SELECT attstorage FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'embedding'",
                           [partition.name])
            assert cursor.fetchone()[0] == "p", partition.name  # PLAIN: the vector is read with its row, not from TOAST


def test_the_rebuild_keeps_every_row_index_and_foreign_key_both_ways(db, media_in_tmp):
    rng = np.random.default_rng(1)
    now = timezone.now()
    kept = [add(now - dt.timedelta(days=d), rng) for d in (0, 3, 9, 400)] + [add(now + dt.timedelta(days=900), rng)]
    SightingExclusion.objects.create(sighting=kept[0], other=kept[1])
    before = layout()
    rows = sorted(Sighting.objects.values_list("id", "seen_at", "embedding_model_name"))
    with connection.cursor() as cursor:
        migration.rebuild(cursor, partitioned=False)
        plain = layout()
        assert plain["kind"] == "r" and plain["key"] == "PRIMARY KEY (id)"
        assert plain["indexes"] == before["indexes"] and plain["foreign"] == before["foreign"]
        assert sorted(Sighting.objects.values_list("id", "seen_at", "embedding_model_name")) == rows
        migration.rebuild(cursor, partitioned=True, since=now - dt.timedelta(days=10))
    assert layout() == before
    assert sorted(Sighting.objects.values_list("id", "seen_at", "embedding_model_name")) == rows
    assert partition_of(kept[3]) == partition_of(kept[4]) == "enrollment_sighting_default"
    assert partition_of(kept[2]) == sighting_partitions.name_of(sighting_partitions.period_of(kept[2].seen_at))
    assert SightingExclusion.objects.get().other_id == kept[1].id


def test_any_seen_at_has_a_partition_and_is_searchable_and_a_new_week_takes_its_rows_out_of_default(db, media_in_tmp):
    rng = np.random.default_rng(2)
    far_past, far_future = dt.datetime(1999, 5, 5, tzinfo=dt.UTC), timezone.now() + dt.timedelta(days=3650)
    old, future = add(far_past, rng), add(far_future, rng)
    assert partition_of(old) == partition_of(future) == "enrollment_sighting_default"
    for sighting in (old, future):
        found = sighting_search.search(query_vector(rng), since=sighting.seen_at - dt.timedelta(hours=1),
                                       until=sighting.seen_at + dt.timedelta(hours=1))
        assert [hit.sighting.id for hit in found.hits] == [sighting.id]
    created = sighting_partitions.ensure(now=far_future, ahead=dt.timedelta(0))
    week = sighting_partitions.name_of(sighting_partitions.period_of(far_future))
    assert week in created and partition_of(future) == week
    assert Sighting.objects.filter(pk=future.pk).exists() and partition_of(old) == "enrollment_sighting_default"
    assert sighting_partitions.ensure(now=far_future, ahead=dt.timedelta(0)) == []


def media_files(root) -> list[str]:
    root = Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_the_expiry_job_drops_a_week_past_retention_with_its_crops_and_exclusions(db, settings, media_in_tmp,
                                                                                  django_capture_on_commit_callbacks):
    settings.FACEAPP_SIGHTING_RETENTION_DAYS = {"camera": 30, "api": 20}
    rng = np.random.default_rng(3)
    now = timezone.now()
    sighting_partitions.ensure(since=now - dt.timedelta(days=70), now=now)
    gone = [add(now - dt.timedelta(days=60), rng), add(now - dt.timedelta(days=60, hours=1), rng, source="api")]
    week = partition_of(gone[0])
    assert week != "enrollment_sighting_default"
    past_row = add(now - dt.timedelta(days=31), rng)  # past retention: dropped with its week or row by row
    recent = add(now - dt.timedelta(days=1), rng)
    SightingExclusion.objects.create(sighting=recent, other=gone[0])
    SightingExclusion.objects.create(sighting=gone[1], other=recent)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.delete_expired_pending_enrollments() == 3
    with connection.cursor() as cursor, django_capture_on_commit_callbacks(execute=True):
        names = {p.name for p in sighting_partitions.partitions(cursor)}
    assert week not in names and "enrollment_sighting_default" in names
    assert list(Sighting.objects.values_list("id", flat=True)) == [recent.id]
    assert not SightingExclusion.objects.exists()
    assert media_files(media_in_tmp) == [recent.crop.name]
    assert {s.crop.name for s in (*gone, past_row)}.isdisjoint(media_files(media_in_tmp))


def test_a_week_holding_a_source_without_retention_is_not_dropped(db, settings, media_in_tmp):
    settings.FACEAPP_SIGHTING_RETENTION_DAYS = {"api": 20}  # camera sightings kept for good
    rng = np.random.default_rng(4)
    now = timezone.now()
    sighting_partitions.ensure(since=now - dt.timedelta(days=70), now=now)
    camera, api = add(now - dt.timedelta(days=60), rng), add(now - dt.timedelta(days=60), rng, source="api")
    assert sightings.delete_expired() == 1
    assert list(Sighting.objects.values_list("id", flat=True)) == [camera.id]


@pytest.mark.parametrize("exact_window_rows", [None, 0])
def test_a_search_across_a_week_boundary_returns_as_many_rows_as_asked_and_equals_an_exact_scan(db, media_in_tmp, settings,
                                                                                                exact_window_rows):
    """Rows on both sides of a Monday 00:00 UTC, most of each week outside the window: the walks of both weeks'
    graphs (or the exact scan chosen for a small window) fill the page."""
    if exact_window_rows is not None:
        settings.FACEAPP_SIGHTING_EXACT_ROWS = exact_window_rows  # never the exact scan: the graphs' walks
    rng = np.random.default_rng(5)
    boundary = sighting_partitions.period_of(timezone.now())
    for i in range(300):
        hours = rng.uniform(-80, 80) if i % 5 else rng.uniform(-4, 4)  # 60 of 300 within 4 hours of the boundary
        add(boundary + dt.timedelta(hours=hours), rng)
    names = {partition_of(s) for s in Sighting.objects.all()}
    assert len(names) == 2
    query = query_vector(rng)
    since, until = boundary - dt.timedelta(hours=4), boundary + dt.timedelta(hours=4)
    in_window = Sighting.objects.filter(seen_at__gte=since, seen_at__lte=until).count()
    assert in_window > 51
    found = sighting_search.search(query, since=since, until=until, page_size=50)
    exact = sighting_search.search(query, since=since, until=until, page_size=50, exact=True)
    assert len(found.hits) == 50 and found.has_more
    assert [h.sighting.id for h in found.hits] == [h.sighting.id for h in exact.hits]


def test_a_small_window_is_scanned_exactly_and_a_wider_one_walks_with_ef_search_scaled_by_its_share_of_its_weeks(db, media_in_tmp,
                                                                                                              settings):
    rng = np.random.default_rng(6)
    boundary = sighting_partitions.period_of(timezone.now())
    for i in range(140):  # 70 spread over each of two weeks
        add(boundary + dt.timedelta(days=(i % 70) / 10 - (7 if i < 70 else 0)), rng)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE enrollment_sighting")
    rows, share, walks = sighting_partitions.rows_in_window(boundary - dt.timedelta(days=1), boundary + dt.timedelta(days=1))
    assert rows == pytest.approx(20, abs=0.5) and share == pytest.approx(1 / 7, abs=0.01) and walks == 2  # a day of each week
    assert sighting_partitions.rows_in_window(None, None) == (pytest.approx(140), 1.0, 2)
    naive = (boundary - dt.timedelta(days=1)).replace(tzinfo=None), (boundary + dt.timedelta(days=1)).replace(tzinfo=None)
    assert sighting_partitions.rows_in_window(*naive) == (rows, share, walks)  # UTC, the default zone
    settings.FACEAPP_SIGHTING_EXACT_ROWS, settings.FACEAPP_SIGHTING_EF_SEARCH = 100, 100
    assert sighting_search.walk_for(boundary - dt.timedelta(days=1), boundary + dt.timedelta(days=1), 51) == (51, True)
    settings.FACEAPP_SIGHTING_EXACT_ROWS = 10
    assert sighting_search.walk_for(boundary - dt.timedelta(days=1), boundary + dt.timedelta(days=1), 51) == (350, False)  # 100 / (1/7) / 2 walks
    assert sighting_search.walk_for(None, None, 51) == (100, False)  # 100 / 1 / 2 walks, but never below the setting
    settings.FACEAPP_SIGHTING_EF_SEARCH = 400
    assert sighting_search.walk_for(boundary - dt.timedelta(days=1), boundary + dt.timedelta(days=1), 51) == (1000, False)


def test_a_shorter_period_applies_to_the_partitions_created_after_it_without_overlapping_those_there(db, settings):
    settings.FACEAPP_SIGHTING_PARTITION_DAYS = 1
    created = sighting_partitions.ensure(now=timezone.now(), ahead=dt.timedelta(days=40))
    with connection.cursor() as cursor:
        found = [p for p in sighting_partitions.partitions(cursor) if p.low is not None]
    assert {p.high - p.low for p in found} == {dt.timedelta(days=7), dt.timedelta(days=1)}
    days = {p.name for p in found if p.high - p.low == dt.timedelta(days=1)}
    assert created and set(created) == days
    assert all(before.high <= after.low for before, after in zip(found, found[1:]))  # none overlaps another
    assert sighting_partitions.ensure(now=timezone.now(), ahead=dt.timedelta(days=40)) == []


def test_erasing_a_person_or_a_group_leaves_no_exclusion_of_their_sightings(db, media_in_tmp, django_capture_on_commit_callbacks):
    """The exclusions' keys to sightings are Django's only (no database constraint on a partitioned table): the
    ORM's cascade must still delete every exclusion naming an erased sighting, on either side."""
    from enrollment import corrections, people
    from enrollment.models import Person, UnknownGroup

    rng = np.random.default_rng(8)
    now = timezone.now()
    person, group = Person.objects.create(name="Someone"), UnknownGroup.objects.create()
    theirs = [add(now - dt.timedelta(days=d), rng) for d in (1, 9)]
    grouped = [add(now - dt.timedelta(days=d), rng) for d in (2, 10)]
    kept = add(now, rng)
    Sighting.objects.filter(pk__in=[s.pk for s in theirs]).update(person=person)
    Sighting.objects.filter(pk__in=[s.pk for s in grouped]).update(unknown_group=group)
    for sighting in (*theirs, *grouped):
        SightingExclusion.objects.create(sighting=sighting, other=kept)
        SightingExclusion.objects.create(sighting=kept, other=sighting)
    SightingExclusion.objects.create(sighting=kept, person=person)
    with django_capture_on_commit_callbacks(execute=True):
        people.delete_person(person)
        corrections.erase_group(group.pk)
    assert list(Sighting.objects.values_list("id", flat=True)) == [kept.id]
    assert not SightingExclusion.objects.exists()
    assert [p for p in Path(media_in_tmp).rglob("*") if p.is_file()] == [Path(media_in_tmp) / kept.crop.name]
