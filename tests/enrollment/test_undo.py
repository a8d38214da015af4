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


# --- Undo refuses, whole, what changed since; "not this person" on a group -----------------------------------------


def test_undoing_not_this_person_on_a_group_forgets_only_the_exclusions_it_added(cast):
    from enrollment import corrections, undo as undoing

    seen = [keep(n)[0] for n in ("astronaut.jpg",)]
    group = seen[0].unknown_group
    corrections.not_person(keep("obama3.jpg")[0])  # an exclusion of Obama from before, on another sighting
    before = set(SightingExclusion.objects.values_list("sighting_id", "person_id"))
    corrections.group_not_person(group.pk, cast.obama)
    assert (seen[0].id, cast.obama.id) in set(SightingExclusion.objects.values_list("sighting_id", "person_id"))
    done = undoing.undo(entry("group.not_person"))
    assert done.details["forgotten"] == 1
    assert set(SightingExclusion.objects.values_list("sighting_id", "person_id")) == before


def test_a_group_merge_whose_faces_moved_on_since_is_not_undone(db, models_ready):
    from enrollment import corrections, undo as undoing

    astronaut, cameraman = keep("astronaut.jpg")[0], keep("cameraman.jpg")[0]
    corrections.merge_groups(astronaut.unknown_group_id, cameraman.unknown_group_id)
    corrections.not_group(fresh(cameraman))  # the cameraman's face leaves the merged group
    where = fresh(cameraman).unknown_group_id
    with pytest.raises(undoing.NotUndoable, match="corrected or moved since"):
        undoing.undo(entry("group.merge"))
    assert fresh(cameraman).unknown_group_id == where and not UnknownGroup.objects.filter(pk=cameraman.unknown_group_id).exists()


def test_not_this_group_is_not_undone_once_its_group_is_gone(db, models_ready):
    from enrollment import corrections, undo as undoing

    seen = [keep(n)[0] for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    group = seen[0].unknown_group_id
    joined = corrections.not_group(fresh(seen[2]))
    corrections.erase_group(group)
    with pytest.raises(undoing.NotUndoable, match="is gone since"):
        undoing.undo(entry("sighting.not_group"))
    assert fresh(seen[2]).unknown_group_id == joined.pk and not UnknownGroup.objects.filter(pk=group).exists()


def test_not_this_group_is_not_undone_once_the_face_is_a_persons(db, models_ready):
    from enrollment import corrections, undo as undoing

    seen = [keep(n)[0] for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    corrections.not_group(fresh(seen[2]))
    person = corrections.enrol_group(fresh(seen[2]).unknown_group_id, name="Barack Obama")
    with pytest.raises(undoing.NotUndoable, match="Barack Obama's since"):
        undoing.undo(entry("sighting.not_group"))
    assert fresh(seen[2]).person_id == person.id and SightingExclusion.objects.filter(sighting=seen[2]).exists()


def test_a_group_given_to_a_person_is_not_taken_back_once_a_face_it_gave_is_somebody_elses(cast):
    from enrollment import corrections, identity_edits, undo as undoing
    from enrollment.models import Face

    seen = [keep(n)[0] for n in ("astronaut.jpg",)]
    eileen = corrections.enrol_group(seen[0].unknown_group_id, name="Eileen Collins")
    [face] = eileen.faces.all()
    identity_edits.move_face(face, cast.biden)
    with pytest.raises(undoing.NotUndoable, match="moved to somebody else since"):
        undoing.undo(entry("group.enrol"))
    assert Face.objects.get(pk=face.pk).person_id == cast.biden.id and fresh(seen[0]).person_id == eileen.id


def test_not_this_person_is_not_undone_once_the_sighting_is_somebody_elses(cast):
    from enrollment import corrections, undo as undoing

    seen = keep("obama3.jpg")[0]
    corrections.not_person(seen)
    Sighting.objects.filter(pk=seen.pk).update(person=cast.biden, unknown_group=None)  # (as adding its group to him would)
    with pytest.raises(undoing.NotUndoable, match="Joe Biden's since"):
        undoing.undo(entry("sighting.not_person"))
    assert fresh(seen).person_id == cast.biden.id
    assert SightingExclusion.objects.filter(sighting=seen, person=cast.obama).exists()
