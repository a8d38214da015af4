"""Undoing edits of enrolled people (enrollment.identity_undo, through POST /api/v1/corrections/<entry>/undo): the state
after the undo equals the state before the edit; an undo that can no longer be done whole changes nothing."""
import datetime as dt

import pytest
from django.utils import timezone

from enrollment import people, services
from enrollment.models import Face, Person, Sighting, SightingExclusion
from faceapp.audit.models import AuditEntry
from tests.conftest import read_bytes
from tests.enrollment.sighting_photos import keep
from videostreams.models import Camera, Event

pytestmark = pytest.mark.django_db


def face_of(person, name):
    return services.add_face(person, services.sample_from_image(read_bytes("samples", name), source_name=name),
                             check_duplicates=False)


@pytest.fixture
def enroller(api_key):
    from tests.conftest import client_with_key

    return client_with_key(api_key("enroll", name="operator"))


def state() -> dict:
    """Everything an identity edit may change: the people and their details, and whose each face, sighting,
    exclusion, camera event and watchlist membership is."""
    return {
        "people": sorted((str(p.id), p.name, p.email, p.birthdate, p.external_id, p.metadata, p.created_at)
                         for p in Person.objects.all()),
        "faces": sorted((str(i), str(p)) for i, p in Face.objects.values_list("id", "person_id")),
        "sightings": sorted((str(i), str(p)) for i, p in Sighting.objects.values_list("id", "person_id")),
        "exclusions": sorted((i, str(p)) for i, p in SightingExclusion.objects.values_list("id", "person_id")),
        "events": sorted((str(i), str(p)) for i, p in Event.objects.values_list("id", "person_id")),
        "watchlists": sorted((str(p.id), sorted(w.name for w in p.watchlists.all())) for p in Person.objects.all()),
    }


def undo_latest(client, action):
    entry = AuditEntry.objects.filter(action=action).latest("id").pk
    return client.post(f"/api/v1/corrections/{entry}/undo")


@pytest.fixture
def two_obamas(models_ready):
    """The same man enrolled twice: the twin with details, a watchlist, a sighting, an exclusion and a camera event."""
    kept = services.create_person(name="Barack Obama")
    face_of(kept, "obama.jpg")
    staff, door_list = people.create_watchlist(name="staff"), people.create_watchlist(name="door")
    kept.watchlists.add(staff)
    twin = services.create_person(name="B. Obama", email="b@example.org", birthdate=dt.date(1961, 8, 4), external_id="hr-7")
    Person.objects.filter(pk=twin.pk).update(metadata={"badge": 12})
    twin.watchlists.add(staff, door_list)
    face_of(twin, "obama2.jpg")
    seen = keep("obama3.jpg")[0]
    Sighting.objects.filter(pk=seen.pk).update(person=twin)
    stranger = keep("astronaut.jpg")[0]
    SightingExclusion.objects.create(sighting=stranger, person=twin)
    camera = Camera.objects.create(name="door", source="x", enabled=False)
    Event.objects.create(camera=camera, track_id="1", first_seen=timezone.now(), last_seen=timezone.now(), person=twin,
                         matched=True, quality=0.8, crop="events/crops/x.jpg", thumbnail="events/thumbs/x.jpg")
    return kept, Person.objects.get(pk=twin.pk), seen


def test_undoing_a_merge_brings_the_other_person_back_with_everything_that_was_theirs(two_obamas, enroller):
    kept, twin, seen = two_obamas
    before = state()
    assert enroller.post(f"/api/v1/people/{kept.id}/merge", {"other": str(twin.id)}, format="json").status_code == 200
    assert not Person.objects.filter(pk=twin.pk).exists() and state() != before
    response = undo_latest(enroller, "person.merge")
    assert response.status_code == 200, response.json()
    assert state() == before
    assert undo_latest(enroller, "person.merge").status_code == 409  # once only


def test_a_merge_whose_faces_changed_since_is_not_undone_at_all(two_obamas, enroller):
    kept, twin, seen = two_obamas
    enroller.post(f"/api/v1/people/{kept.id}/merge", {"other": str(twin.id)}, format="json")
    kept.faces.order_by("created_at").last().delete()  # the twin's face (enrolled after the kept one), deleted since
    after_delete = state()
    response = undo_latest(enroller, "person.merge")
    assert response.status_code == 400 and response.json()["error_code"] == "not_undoable"
    assert "deleted or moved" in response.json()["message"]
    assert state() == after_delete


def test_undoing_a_split_gives_the_faces_back_and_removes_the_split_off_person(models_ready, enroller):
    mixed = services.create_person(name="Barack Obama")
    face_of(mixed, "obama.jpg")
    wrong = face_of(mixed, "astronaut.jpg")
    before = state()
    made = enroller.post(f"/api/v1/people/{mixed.id}/split", {"face_ids": [str(wrong.id)], "name": "Eileen Collins"},
                         format="json").json()
    assert Person.objects.filter(pk=made["id"]).exists()
    response = undo_latest(enroller, "person.split")
    assert response.status_code == 200, response.json()
    assert response.json()["details"]["split_off_deleted"] is True
    assert state() == before


def test_undoing_a_split_keeps_the_split_off_person_who_has_been_given_more_since(models_ready, enroller):
    mixed = services.create_person(name="Barack Obama")
    face_of(mixed, "obama.jpg")
    wrong = face_of(mixed, "astronaut.jpg")
    made = enroller.post(f"/api/v1/people/{mixed.id}/split", {"face_ids": [str(wrong.id)], "name": "Eileen Collins"},
                         format="json").json()
    eileen = Person.objects.get(pk=made["id"])
    later = face_of(eileen, "cameraman.jpg")
    response = undo_latest(enroller, "person.split")
    assert response.status_code == 200 and response.json()["details"]["split_off_deleted"] is False
    assert Face.objects.get(pk=wrong.pk).person_id == mixed.id and Face.objects.get(pk=later.pk).person_id == eileen.id


def test_undoing_a_move_puts_the_face_back(cast, enroller):
    face = cast.obama.faces.order_by("created_at").last()
    before = state()
    moved = enroller.post(f"/api/v1/people/{cast.obama.id}/faces/{face.id}/move", {"person_id": str(cast.biden.id)}, format="json")
    assert moved.status_code == 200 and Face.objects.get(pk=face.pk).person_id == cast.biden.id
    response = undo_latest(enroller, "face.move")
    assert response.status_code == 200, response.json()
    assert state() == before


def test_a_move_of_a_face_deleted_since_is_not_undoable(cast, enroller):
    face = cast.obama.faces.order_by("created_at").last()
    enroller.post(f"/api/v1/people/{cast.obama.id}/faces/{face.id}/move", {"person_id": str(cast.biden.id)}, format="json")
    Face.objects.filter(pk=face.pk).delete()
    response = undo_latest(enroller, "face.move")
    assert response.status_code == 400 and response.json()["error_code"] == "not_undoable"
    assert not AuditEntry.objects.filter(action="correction.undo").exists()
