"""Merge two people, split faces off, move a face (enrollment.identity_edits, through the API); audited."""
import pytest
from django.utils import timezone

from enrollment import services, sweep
from enrollment.models import Person, Sighting
from faceapp.audit.models import AuditEntry
from tests.conftest import read_bytes, upload
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


def who(client, name):
    found = client.post("/api/v1/identify", {"image": upload("samples", name)}, format="multipart").json()["faces"][0]
    return found["candidates"][0]["person"]["id"] if found["candidates"] else None


def test_merging_two_people_keeps_every_face_sighting_and_camera_event_and_survives_a_sweep(models_ready, enroller):
    kept = services.create_person(name="Barack Obama")
    face_of(kept, "obama.jpg")
    twin = services.create_person(name="B. Obama")
    face_of(twin, "obama2.jpg")
    seen = keep("obama3.jpg")[0]
    assert seen.person_id in (kept.id, twin.id)
    Sighting.objects.filter(pk=seen.pk).update(person=twin)
    camera = Camera.objects.create(name="door", source="x", enabled=False)
    event = Event.objects.create(camera=camera, track_id="1", first_seen=timezone.now(), last_seen=timezone.now(), person=twin,
                                 matched=True, quality=0.8, crop="events/crops/x.jpg", thumbnail="events/thumbs/x.jpg")
    response = enroller.post(f"/api/v1/people/{kept.id}/merge", {"other": str(twin.id)}, format="json")
    assert response.status_code == 200, response.json()
    assert not Person.objects.filter(pk=twin.pk).exists()
    assert kept.faces.count() == 2 and Sighting.objects.get(pk=seen.pk).person_id == kept.id
    assert Event.objects.get(pk=event.pk).person_id == kept.id  # followed the merge, not erased with the other
    assert AuditEntry.objects.filter(action="person.merge", target_id=str(kept.id), username="").exists()
    sweep.sweep()
    assert Sighting.objects.get(pk=seen.pk).person_id == kept.id
    assert enroller.post(f"/api/v1/people/{kept.id}/merge", {"other": str(kept.id)}, format="json").status_code == 400


def test_splitting_faces_off_makes_a_new_person_who_is_then_recognised(models_ready, enroller):
    mixed = services.create_person(name="Barack Obama")
    face_of(mixed, "obama.jpg")
    wrong = face_of(mixed, "astronaut.jpg")
    response = enroller.post(f"/api/v1/people/{mixed.id}/split", {"face_ids": [str(wrong.id)], "name": "Eileen Collins"},
                             format="json")
    assert response.status_code == 201, response.json()
    eileen = Person.objects.get(pk=response.json()["id"])
    assert list(eileen.faces.values_list("id", flat=True)) == [wrong.id] and mixed.faces.count() == 1
    assert who(enroller, "astronaut.jpg") == str(eileen.id)
    assert AuditEntry.objects.filter(action="person.split", target_id=str(mixed.id)).exists()
    last = mixed.faces.get()
    everything = enroller.post(f"/api/v1/people/{mixed.id}/split", {"face_ids": [str(last.id)], "name": "X"}, format="json")
    assert everything.status_code == 400
    foreign = enroller.post(f"/api/v1/people/{mixed.id}/split", {"face_ids": [str(wrong.id)], "name": "X"}, format="json")
    assert foreign.status_code == 404


def test_moving_a_face_gives_it_to_the_right_person(cast, enroller):
    biden_face = cast.biden.faces.get()
    stray = face_of(cast.obama, "cameraman.jpg")
    response = enroller.post(f"/api/v1/people/{cast.obama.id}/faces/{stray.id}/move", {"person_id": str(cast.biden.id)},
                             format="json")
    assert response.status_code == 200, response.json()
    assert set(cast.biden.faces.values_list("id", flat=True)) == {biden_face.id, stray.id}
    assert who(enroller, "cameraman.jpg") != str(cast.obama.id)
    assert AuditEntry.objects.filter(action="face.move", target_id=str(stray.id)).exists()
    again = enroller.post(f"/api/v1/people/{cast.biden.id}/faces/{stray.id}/move", {"person_id": str(cast.biden.id)}, format="json")
    assert again.status_code == 400
