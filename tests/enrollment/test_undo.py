"""Undoing corrections (enrollment.undo, POST /api/v1/corrections/<audit entry>/undo)."""
import pytest

from enrollment.models import Person, Sighting, SightingExclusion, UnknownGroup
from faceapp.audit.models import AuditEntry
from tests.enrollment.sighting_photos import keep


@pytest.fixture
def enroller(api_key):
    from tests.conftest import client_with_key

    return client_with_key(api_key("enroll", name="operator"))


def entry(action) -> int:
    return AuditEntry.objects.filter(action=action).latest("id").pk


def undo(client, action):
    return client.post(f"/api/v1/corrections/{entry(action)}/undo")


def fresh(sighting):
    return Sighting.objects.get(pk=sighting.pk)


def test_undoing_a_merge_gives_the_other_group_back_its_id_and_sightings(db, models_ready, enroller):
    astronaut, cameraman = keep("astronaut.jpg")[0], keep("cameraman.jpg")[0]
    a, c = astronaut.unknown_group_id, cameraman.unknown_group_id
    enroller.post(f"/api/v1/unknown-groups/{a}/merge", {"other": str(c)}, format="json")
    assert fresh(cameraman).unknown_group_id == a
    response = undo(enroller, "group.merge")
    assert response.status_code == 200, response.json()
    assert fresh(cameraman).unknown_group_id == c and fresh(astronaut).unknown_group_id == a
    assert not fresh(cameraman).pinned and not fresh(astronaut).pinned
    again = enroller.post(f"/api/v1/corrections/{entry('group.merge')}/undo")
    assert again.status_code == 409  # once only


def test_undoing_not_this_group_puts_the_sighting_back_and_forgets_the_exclusion(db, models_ready, enroller):
    seen = [keep(n)[0] for n in ("obama.jpg", "obama2.jpg")]
    group = seen[0].unknown_group_id
    enroller.post(f"/api/v1/sightings/{seen[1].id}/not-group")
    assert fresh(seen[1]).unknown_group_id != group and SightingExclusion.objects.exists()
    assert undo(enroller, "sighting.not_group").status_code == 200
    assert fresh(seen[1]).unknown_group_id == group and not SightingExclusion.objects.exists()


def test_undoing_not_this_person_names_the_sighting_again(cast, enroller):
    seen = keep("obama3.jpg")[0]
    enroller.post(f"/api/v1/sightings/{seen.id}/not-person", {}, format="json")
    assert fresh(seen).person_id is None
    assert undo(enroller, "sighting.not_person").status_code == 200
    assert fresh(seen).person_id == cast.obama.id and fresh(seen).unknown_group_id is None
    assert not SightingExclusion.objects.exists()


def test_undoing_an_enrolment_of_a_group_deletes_the_person_and_restores_the_group(db, models_ready, enroller):
    seen = [keep(n)[0] for n in ("obama.jpg", "obama2.jpg")]
    group = seen[0].unknown_group_id
    made = enroller.post(f"/api/v1/unknown-groups/{group}/enrol", {"name": "Barack Obama"}, format="json").json()
    response = undo(enroller, "group.enrol")
    assert response.status_code == 200, response.json()
    assert response.json()["details"]["person_deleted"] is True
    assert not Person.objects.filter(pk=made["person"]["id"]).exists()
    assert [fresh(s).unknown_group_id for s in seen] == [group, group] and UnknownGroup.objects.filter(pk=group).exists()


def test_erasures_cannot_be_undone(db, models_ready, enroller):
    seen = keep("astronaut.jpg")[0]
    enroller.delete(f"/api/v1/unknown-groups/{seen.unknown_group_id}")
    response = undo(enroller, "group.delete")
    assert response.status_code == 400 and response.json()["error_code"] == "not_undoable"
    assert enroller.post("/api/v1/corrections/999999/undo").status_code == 404
