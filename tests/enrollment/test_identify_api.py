import uuid

import pytest

from enrollment.models import Person
from faceapp.audit.models import AuditEntry
from tests.conftest import assert_error, upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/identify"


def identify(client, *parts, **fields):
    return client.post(URL, {"image": upload(*parts), **fields}, format="multipart")


def test_identify_names_every_face_in_the_photo(cast):
    response = identify(cast.read, "samples", "obama_and_biden.jpg")
    body = response.json()
    assert response.status_code == 200, body
    policy = body["decision_policy"]
    assert body["preset"] == policy["preset"] == "balanced" and policy["calibrated"] is True
    assert body["threshold"] == policy["threshold"] and policy["gallery_size"] == 3  # the cast's enrolled faces
    assert len(body["faces"]) == 3
    named = {face["candidates"][0]["person"]["name"] for face in body["faces"] if face["candidates"]}
    assert named == {"Barack Obama", "Joe Biden"}
    assert sorted(face["decision"]["verdict"] for face in body["faces"]) == ["named", "named", "unknown"]  # and the child
    top = next(face["candidates"][0] for face in body["faces"] if face["candidates"])
    assert top["similarity"] >= body["threshold"] and uuid.UUID(top["face_id"])


def test_identify_returns_up_to_limit_candidates_best_first_down_to_any_score_at_threshold_zero(cast):
    body = identify(cast.read, "samples", "obama2.jpg", limit=5, threshold=-1).json()
    candidates = body["faces"][0]["candidates"]
    assert [c["person"]["name"] for c in candidates] == ["Barack Obama", "Joe Biden"]
    assert candidates[0]["similarity"] > candidates[1]["similarity"]
    assert len(identify(cast.read, "samples", "obama2.jpg", limit=1, threshold=0).json()["faces"][0]["candidates"]) == 1


def test_a_high_threshold_leaves_a_face_without_candidates(cast):
    body = identify(cast.read, "samples", "obama-480p.jpg", threshold=0.999).json()  # a photo not enrolled
    assert body["faces"][0]["candidates"] == []


def test_identify_can_be_restricted_to_watchlists(cast):
    inside = identify(cast.read, "samples", "obama2.jpg", watchlists=[str(cast.staff.id)]).json()
    assert inside["faces"][0]["candidates"][0]["person"]["id"] == str(cast.obama.id)
    outside = identify(cast.read, "samples", "biden_biden2.jpg", watchlists=[str(cast.staff.id)], threshold=0.3).json()
    assert all(c["person"]["id"] != str(cast.biden.id) for face in outside["faces"] for c in face["candidates"])


def test_identify_in_an_unknown_watchlist_is_a_400(cast):
    assert_error(identify(cast.read, "samples", "obama.jpg", watchlists=[str(uuid.uuid4())]), 400, "invalid_request")
    assert_error(identify(cast.read, "samples", "obama.jpg", watchlists=["nope"]), 400, "invalid_request")


@pytest.mark.parametrize("fields", [{"limit": 0}, {"limit": 101}, {"threshold": 2}, {"threshold": "high"}, {"max_faces": 0}])
def test_identify_with_bad_options_is_a_400(api_client, fields):
    assert_error(identify(api_client, "samples", "obama.jpg", **fields), 400, "invalid_request")


def test_identify_a_photo_without_faces_returns_no_faces(api_client, models_ready):
    assert identify(api_client, "nonfaces", "coffee.jpg").json()["faces"] == []


def test_identify_is_audited_with_the_key_that_searched(cast):
    identify(cast.read, "samples", "obama2.jpg")
    entry = AuditEntry.objects.get(action="identify")
    assert entry.api_key.name == "cast read" and entry.details["top"] == [str(cast.obama.id)]
    assert entry.request_id


def test_identify_needs_a_key(client, models_ready):
    assert_error(identify(client, "samples", "obama.jpg"), 401, "unauthenticated")
    assert Person.objects.count() == 0
