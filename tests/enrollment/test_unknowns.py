"""Unknown groups as sightings arrive (enrollment.unknowns) and the groups API."""
import pytest

from enrollment.models import Sighting, UnknownGroup
from tests.enrollment.sighting_photos import keep, side_by_side

pytestmark = pytest.mark.django_db


def test_sightings_of_one_stranger_join_one_group_and_other_strangers_get_their_own(models_ready):
    obama = [keep(n)[0] for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    biden, astronaut = keep("biden.jpg")[0], keep("astronaut.jpg")[0]
    assert len({s.unknown_group_id for s in obama}) == 1
    assert len({obama[0].unknown_group_id, biden.unknown_group_id, astronaut.unknown_group_id}) == 3
    assert obama[0].unknown_group.label == f"U-{obama[0].unknown_group_id:06d}"


def test_two_faces_of_one_photo_are_never_the_same_unknown(models_ready):
    first, second = keep("", image=side_by_side("obama.jpg"))
    assert first.frame_key == second.frame_key
    assert first.unknown_group_id != second.unknown_group_id
    later = keep("obama2.jpg")[0]  # Obama again: joins one of the two, and only one
    assert later.unknown_group_id in {first.unknown_group_id, second.unknown_group_id}


def test_an_enrolled_persons_sightings_join_no_group(cast):
    seen = keep("obama3.jpg")[0]
    assert seen.person_id == cast.obama.id and seen.unknown_group_id is None


def test_the_groups_api_lists_groups_with_enough_sightings_with_counts_times_cameras_and_best_shots(cast, settings):
    settings.FACEAPP_UNKNOWN_MIN_SIGHTINGS = 2
    astronauts = [keep("astronaut.jpg")[0], keep("", image=side_by_side("astronaut.jpg"))[0]]
    keep("cameraman.jpg")  # a single sighting: not listed yet
    group = astronauts[0].unknown_group
    assert {s.unknown_group_id for s in astronauts} == {group.pk}
    Sighting.objects.filter(pk=astronauts[0].pk).update(camera_name="back door")
    body = cast.read.get("/api/v1/unknown-groups").json()
    assert body["count"] == 1
    listed = body["results"][0]
    assert listed["id"] == group.label and listed["sightings"] == 2 and listed["cameras"] == ["back door"]
    assert listed["first_seen"] <= listed["last_seen"]
    assert {shot["sighting_id"] for shot in listed["best_shots"]} == {str(s.id) for s in astronauts}
    assert cast.read.get(listed["best_shots"][0]["crop_url"]).status_code == 200
    everyone = cast.read.get("/api/v1/unknown-groups?min_sightings=1").json()
    # the cameraman, and the double photo's other astronaut face (never with its twin)
    assert everyone["count"] == UnknownGroup.objects.count() == 3
    detail = cast.read.get(f"/api/v1/unknown-groups/{group.label}").json()
    assert detail["id"] == group.label and detail["sightings"] == 2
    sightings = cast.read.get(f"/api/v1/unknown-groups/{group.pk}/sightings").json()
    assert {s["id"] for s in sightings["results"]} == {str(s.id) for s in astronauts}
    assert cast.read.get("/api/v1/unknown-groups/U-999999").status_code == 404
    assert cast.read.get("/api/v1/unknown-groups/nonsense").status_code == 404
