"""Sightings of API searches (keep_sighting), their retention, and erasure with the person."""
import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from enrollment import people, sightings
from enrollment.models import Sighting, UnknownGroup
from tests.conftest import upload


def media_files(root) -> list[str]:
    root = Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_identify_keeps_no_sighting_unless_asked(cast):
    response = cast.read.post("/api/v1/identify", {"image": upload("samples", "obama_and_biden.jpg")}, format="multipart")
    assert response.status_code == 200, response.json()
    assert "sighting" not in response.json()["faces"][0]
    assert Sighting.objects.count() == 0


def test_identify_keeps_each_face_as_a_sighting_with_its_decision_key_and_photo(cast, media_in_tmp):
    response = cast.read.post("/api/v1/identify", {"image": upload("samples", "obama_and_biden.jpg"), "keep_sighting": "true"},
                              format="multipart")
    assert response.status_code == 200, response.json()
    faces = response.json()["faces"]
    kept = Sighting.objects.all()
    assert kept.count() == len(faces) >= 2
    by_id = {str(s.id): s for s in kept}
    for face in faces:
        sighting = by_id[face["sighting"]["id"]]
        assert sighting.source == "api" and sighting.api_key_name == "cast read"
        assert sighting.verdict == face["decision"]["verdict"]
        named = face["candidates"][0]["person"]["id"] if face["candidates"] else None
        assert (str(sighting.person_id) if sighting.person_id else None) == named
        assert (media_in_tmp / sighting.crop.name).is_file()
    assert {cast.obama.id, cast.biden.id} <= {s.person_id for s in kept}
    assert len({s.frame_key for s in kept}) == 1  # one photo: one frame key, so never one identity


def test_recognise_user_keeps_an_unknown_face_in_an_unknown_group(cast):
    response = cast.read.post("/api/v1/recognise_user", {"image": upload("samples", "astronaut.jpg"), "keep_sighting": "true"},
                              format="multipart")
    body = response.json()
    assert body["message"] == "no_match", body
    sighting = Sighting.objects.get(pk=body["metadata"]["sighting"]["id"])
    assert sighting.person is None and sighting.verdict in ("unknown", "close")
    assert body["metadata"]["sighting"]["unknown_group"] == sighting.unknown_group.label
    assert sighting.unknown_group.label.startswith("U-")


def test_retention_erases_sightings_past_their_source_retention_and_their_crops(cast, settings, media_in_tmp,
                                                                                 django_capture_on_commit_callbacks):
    settings.FACEAPP_SIGHTING_RETENTION_DAYS = {"camera": 30, "api": 2}
    cast.read.post("/api/v1/recognise_user", {"image": upload("samples", "astronaut.jpg"), "keep_sighting": "true"}, format="multipart")
    cast.read.post("/api/v1/recognise_user", {"image": upload("samples", "cameraman.jpg"), "keep_sighting": "true"}, format="multipart")
    old, recent = Sighting.objects.order_by("created_at")
    Sighting.objects.filter(pk=old.pk).update(seen_at=timezone.now() - dt.timedelta(days=3), until=timezone.now() - dt.timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        assert sightings.delete_expired() == 1
    assert list(Sighting.objects.values_list("id", flat=True)) == [recent.id]
    assert old.crop.name not in media_files(media_in_tmp) and recent.crop.name in media_files(media_in_tmp)
    assert not UnknownGroup.objects.filter(pk=old.unknown_group_id).exists()  # left empty: gone


def test_erasing_a_person_erases_their_sightings_rows_and_crops(cast, media_in_tmp, django_capture_on_commit_callbacks):
    for _ in range(2):
        cast.read.post("/api/v1/identify", {"image": upload("samples", "obama3.jpg"), "keep_sighting": "true"}, format="multipart")
    theirs = list(Sighting.objects.filter(person=cast.obama))
    assert len(theirs) == 2
    crops = [s.crop.name for s in theirs]
    assert all(name in media_files(media_in_tmp) for name in crops)
    with django_capture_on_commit_callbacks(execute=True):
        people.delete_person(cast.obama)
    assert not Sighting.objects.filter(pk__in=[s.pk for s in theirs]).exists()
    assert not Sighting.objects.filter(person_id=cast.obama.id).exists()
    left = media_files(media_in_tmp)
    assert not any(name in left for name in crops)
    assert not [name for name in left if name.startswith("sightings/")]
