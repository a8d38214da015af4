import uuid

import pytest

from faceapp.audit.models import AuditEntry
from tests.conftest import assert_error, upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/verify"


def verify(client, first, second=None, **fields):
    data = {"image1": upload(*first), **fields}
    if second is not None:
        data["image2"] = upload(*second)
    return client.post(URL, data, format="multipart")


def test_two_photos_of_one_person_are_verified(api_client, models_ready):
    response = verify(api_client, ("samples", "obama.jpg"), ("samples", "obama2.jpg"))
    body = response.json()
    assert response.status_code == 200, body
    assert body["verified"] is True and body["similarity"] >= body["threshold"]
    assert body["preset"] == "balanced" and body["decision"]["verdict"] == "named"
    assert body["decision_policy"]["gallery_size"] == 1  # 1:1: one chance of a false match
    assert body["face1"]["index"] == 0 and body["face2"]["index"] == 0 and body["person"] is None
    assert "pairs" not in body


def test_photos_of_two_people_are_not_verified(api_client, models_ready):
    body = verify(api_client, ("samples", "obama.jpg"), ("samples", "biden.jpg")).json()
    assert body["verified"] is False and body["similarity"] < body["threshold"]
    assert body["decision"]["verdict"] == "unknown"


def test_a_threshold_per_request_changes_the_decision(api_client, models_ready):
    body = verify(api_client, ("samples", "obama.jpg"), ("samples", "biden.jpg"), threshold=-1).json()
    assert body["verified"] is True and body["threshold"] == -1


def test_verify_against_an_enrolled_person(cast):
    same = verify(cast.read, ("samples", "obama-480p.jpg"), person_id=str(cast.obama.id)).json()
    assert same["verified"] is True and same["person"]["id"] == str(cast.obama.id) and same["face2"] is None
    other = verify(cast.read, ("samples", "biden.jpg"), person_id=str(cast.obama.id)).json()
    assert other["verified"] is False
    assert AuditEntry.objects.filter(action="verify", target_id=str(cast.obama.id)).count() == 2


def test_all_pairs_compares_every_face(api_client, models_ready):
    body = verify(api_client, ("samples", "obama_and_biden.jpg"), ("samples", "obama.jpg"), all_pairs="true").json()
    assert body["faces1_detected"] == 3 and len(body["pairs"]) == 3
    assert body["similarity"] == max(p["similarity"] for p in body["pairs"])
    assert body["verified"] is True  # Obama is one of the three
    assert sum(p["verified"] for p in body["pairs"]) == 1


def test_verify_without_a_face_is_a_400_601_naming_the_image(api_client, models_ready):
    body = assert_error(verify(api_client, ("samples", "obama.jpg"), ("nonfaces", "cat.jpg")), 400, 601)
    assert body["image"] == "image2"


def test_verify_needs_exactly_one_of_image2_and_person_id(api_client, models_ready):
    assert_error(verify(api_client, ("samples", "obama.jpg")), 400, "invalid_request")
    assert_error(verify(api_client, ("samples", "obama.jpg"), ("samples", "obama2.jpg"), person_id=str(uuid.uuid4())), 400, "invalid_request")
    assert_error(verify(api_client, ("samples", "obama.jpg"), person_id="nope"), 400, "invalid_request")


def test_verify_against_an_unknown_person_is_a_404(api_client, models_ready):
    assert_error(verify(api_client, ("samples", "obama.jpg"), person_id=str(uuid.uuid4())), 404, "not_found")


def test_verify_against_a_person_without_faces_is_a_400(api_client, models_ready):
    person = api_client.post("/api/v1/people", {"name": "Faceless"}, format="json").json()
    assert_error(verify(api_client, ("samples", "obama.jpg"), person_id=person["id"]), 400, "no_enrolled_face")


def test_verify_needs_a_key(client, models_ready):
    assert_error(verify(client, ("samples", "obama.jpg"), ("samples", "obama2.jpg")), 401, "unauthenticated")
