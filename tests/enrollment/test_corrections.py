"""Operators' corrections (enrollment.corrections, through the API): each is audited and survives a re-sweep."""
from pathlib import Path

import pytest

from enrollment import services, sweep
from enrollment.models import Person, Sighting, SightingExclusion, UnknownGroup
from faceapp.audit.models import AuditEntry
from tests.conftest import upload
from tests.enrollment.sighting_photos import keep, side_by_side


def media_files(root) -> list[str]:
    root = Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def fresh(sighting) -> Sighting:
    return Sighting.objects.get(pk=sighting.pk)


def audited(action, target_id) -> bool:
    return AuditEntry.objects.filter(action=action, target_id=str(target_id)).exists()


@pytest.fixture
def obama_unknown(db, models_ready, api_key):
    """Three sightings of Obama, nobody enrolled: one unknown group."""
    seen = [keep(n)[0] for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    assert len({s.unknown_group_id for s in seen}) == 1
    return seen


@pytest.fixture
def enroller(api_key):
    from tests.conftest import client_with_key

    return client_with_key(api_key("enroll", name="operator"))


def test_enrolling_a_group_makes_a_person_of_its_best_faces_and_sightings_and_survives_a_sweep(obama_unknown, enroller):
    group = obama_unknown[0].unknown_group
    response = enroller.post(f"/api/v1/unknown-groups/{group.label}/enrol", {"name": "Barack Obama", "faces": 2}, format="json")
    assert response.status_code == 201, response.json()
    person = Person.objects.get(pk=response.json()["person"]["id"])
    assert response.json()["sightings"] == 3 and person.faces.count() == 2
    assert not UnknownGroup.objects.filter(pk=group.pk).exists()
    assert audited("group.enrol", group.label) and audited("person.create", person.id)
    sweep.sweep()
    assert all(fresh(s).person_id == person.id and fresh(s).unknown_group_id is None for s in obama_unknown)
    # Their faces now name them.
    named = enroller.post("/api/v1/identify", {"image": upload("samples", "obama-480p.jpg")}, format="multipart").json()
    assert named["faces"][0]["candidates"][0]["person"]["id"] == str(person.id)


def test_adding_a_group_to_a_person_gives_them_its_faces_and_sightings_and_survives_a_sweep(db, models_ready, enroller):
    astronaut = [keep("astronaut.jpg")[0], keep("two_people.jpg")[1]]
    assert astronaut[0].unknown_group_id == astronaut[1].unknown_group_id
    eileen = services.create_person(name="Eileen Collins")
    label = astronaut[0].unknown_group.label
    response = enroller.post(f"/api/v1/unknown-groups/{label}/add-to-person", {"person_id": str(eileen.id)}, format="json")
    assert response.status_code == 200, response.json()
    assert eileen.faces.count() == 2 and response.json()["sightings"] == 2
    assert audited("group.add_to_person", label)
    sweep.sweep()
    assert [fresh(s).person_id for s in astronaut] == [eileen.id, eileen.id]


def test_not_this_person_on_a_sighting_is_remembered_and_survives_a_sweep(cast, enroller):
    seen = keep("obama3.jpg")[0]
    assert seen.person_id == cast.obama.id
    response = enroller.post(f"/api/v1/sightings/{seen.id}/not-person", {}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["person"] is None and body["unknown_group"].startswith("U-")
    assert SightingExclusion.objects.filter(sighting=seen, person=cast.obama).exists()
    assert audited("sighting.not_person", seen.id)
    sweep.sweep()
    assert fresh(seen).person_id is None and fresh(seen).unknown_group_id is not None
    # The group it is in may not be given to the person it is not.
    refused = enroller.post(f"/api/v1/unknown-groups/{body['unknown_group']}/add-to-person", {"person_id": str(cast.obama.id)},
                            format="json")
    assert refused.status_code == 409 and refused.json()["error_code"] == "marked_not_this_person"
    again = enroller.post(f"/api/v1/sightings/{seen.id}/not-person", {}, format="json")
    assert again.status_code == 400 and again.json()["status"] == "error"  # it names nobody now


def test_not_this_group_on_a_sighting_keeps_it_apart_from_the_group_across_sweeps(obama_unknown, enroller):
    group_id = obama_unknown[0].unknown_group_id
    odd_one = obama_unknown[2]
    response = enroller.post(f"/api/v1/sightings/{odd_one.id}/not-group", format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["unknown_group"] != f"U-{group_id:06d}"
    assert audited("sighting.not_group", odd_one.id)
    for _ in range(2):
        sweep.sweep()
        groups = [fresh(s).unknown_group_id for s in obama_unknown]
        assert groups[0] == groups[1] == group_id and groups[2] not in (group_id, None)


def test_not_this_person_on_a_group_is_remembered_for_each_sighting(cast, enroller):
    stranger = [keep("astronaut.jpg")[0]]
    label = stranger[0].unknown_group.label
    response = enroller.post(f"/api/v1/unknown-groups/{label}/not-person", {"person_id": str(cast.biden.id)}, format="json")
    assert response.status_code == 200, response.json()
    assert audited("group.not_person", label)
    sweep.sweep()
    label = fresh(stranger[0]).unknown_group.label
    refused = enroller.post(f"/api/v1/unknown-groups/{label}/add-to-person", {"person_id": str(cast.biden.id)}, format="json")
    assert refused.status_code == 409


def test_merging_two_groups_pins_them_together_across_sweeps_and_is_refused_for_faces_of_one_photo(db, models_ready, enroller):
    astronaut, cameraman = keep("astronaut.jpg")[0], keep("cameraman.jpg")[0]
    target, other = astronaut.unknown_group.label, cameraman.unknown_group.label
    response = enroller.post(f"/api/v1/unknown-groups/{target}/merge", {"other": other}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == target and response.json()["sightings"] == 2
    assert audited("group.merge", target)
    for _ in range(2):
        sweep.sweep()
        assert fresh(astronaut).unknown_group_id == fresh(cameraman).unknown_group_id == astronaut.unknown_group_id
    first, second = keep("", image=side_by_side("biden.jpg"))
    refused = enroller.post(f"/api/v1/unknown-groups/{first.unknown_group.label}/merge",
                            {"other": second.unknown_group.label}, format="json")
    assert refused.status_code == 409 and refused.json()["status"] == "error"
    same = enroller.post(f"/api/v1/unknown-groups/{target}/merge", {"other": target}, format="json")
    assert same.status_code == 400


def test_erasing_a_group_erases_its_sightings_vectors_and_crops(obama_unknown, enroller, media_in_tmp,
                                                                django_capture_on_commit_callbacks):
    label = obama_unknown[0].unknown_group.label
    crops = [s.crop.name for s in obama_unknown]
    assert all(name in media_files(media_in_tmp) for name in crops)
    with django_capture_on_commit_callbacks(execute=True):
        response = enroller.delete(f"/api/v1/unknown-groups/{label}")
    assert response.status_code == 200 and response.json()["sightings_deleted"] == 3
    assert not Sighting.objects.filter(pk__in=[s.pk for s in obama_unknown]).exists()
    assert not UnknownGroup.objects.exists()
    assert not [name for name in media_files(media_in_tmp) if name.startswith("sightings/")]
    assert audited("group.delete", label)


def test_corrections_need_the_enroll_scope(obama_unknown, api_key):
    from tests.conftest import client_with_key

    reader = client_with_key(api_key("read"))
    label = obama_unknown[0].unknown_group.label
    assert reader.post(f"/api/v1/unknown-groups/{label}/enrol", {"name": "X"}, format="json").status_code == 403
    assert reader.delete(f"/api/v1/unknown-groups/{label}").status_code == 403
    assert reader.get(f"/api/v1/unknown-groups/{label}").status_code == 200
