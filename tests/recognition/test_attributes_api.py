"""Attributes on the API: detect, identify and recognise_user on request; liveness on verify and add_user."""
from __future__ import annotations

import pytest

from enrollment.models import PendingEnrollment, Person
from tests.conftest import assert_error, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def liveness_on(settings):
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True
    settings.FACEAPP_LIVENESS_MODEL = "antispoof"
    return settings


def test_detect_adds_the_requested_attributes_to_every_face(api_client, models_ready):
    response = api_client.post("/api/v1/detect", {"image": upload("samples", "obama_and_biden.jpg"), "attributes": "gender,emotion"},
                               format="multipart")
    body = response.json()
    assert response.status_code == 200, body
    for face in body["faces"]:
        attributes = face["attributes"]
        assert attributes["gender"] in ("female", "male") and 0.5 <= attributes["gender_score"] <= 1
        assert attributes["emotion"] in attributes["emotions"] and "age" not in attributes  # not asked for
        assert attributes["models"] == {"gender": "faceapi-age-gender", "emotion": "mini-xception-emotion"}
    assert body["faces"][0]["attributes"]["gender"] == "male"
    assert "attributes" in body["timings_ms"]


def test_detect_without_attributes_computes_none(api_client, models_ready):
    body = api_client.post("/api/v1/detect", {"image": upload("samples", "obama.jpg")}, format="multipart").json()
    assert "attributes" not in body["faces"][0] and "attributes" not in body["timings_ms"]


def test_an_unknown_attribute_is_a_bad_request_naming_it(api_client, models_ready):
    response = api_client.post("/api/v1/detect", {"image": upload("samples", "obama.jpg"), "attributes": "gender,height"}, format="multipart")
    body = assert_error(response, 400, "invalid_request")
    assert "height" in body["message"]


def test_an_attribute_without_a_model_says_so_and_which_setting(settings, api_client, models_ready):
    settings.FACEAPP_AGE_MODEL = "none"
    response = api_client.post("/api/v1/detect", {"image": upload("samples", "obama.jpg"), "attributes": "age"}, format="multipart")
    body = assert_error(response, 400, "attribute_unavailable")
    assert "FACEAPP_AGE_MODEL" in body["message"]


def test_identify_and_recognise_user_carry_attributes_on_request(settings, cast):
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS, settings.FACEAPP_AGE_MODEL = True, "faceres"
    body = cast.read.post("/api/v1/identify", {"image": upload("samples", "biden.jpg"), "attributes": "all"}, format="multipart").json()
    face = body["faces"][0]
    assert face["candidates"][0]["person"]["name"] == "Joe Biden"
    assert face["attributes"]["gender"] == "male" and face["attributes"]["age"] > 50
    body = cast.read.post("/api/v1/recognise_user", {"image": upload("samples", "rose_leslie_img1.jpg"), "attributes": "gender,age"},
                          format="multipart").json()
    assert body["message"] == "no_match"
    assert body["metadata"]["attributes"]["gender"] == "female" and body["metadata"]["attributes"]["age"] < 45


def test_verify_with_liveness_reports_each_faces_check(api_client, models_ready, liveness_on):
    response = api_client.post("/api/v1/verify", {"image1": upload("samples", "obama.jpg"), "image2": upload("samples", "obama2.jpg"),
                                                   "liveness": "true"}, format="multipart")
    body = response.json()
    assert response.status_code == 200, body
    for face in (body["face1"], body["face2"]):
        assert set(face["liveness"]) == {"score", "threshold", "live", "model"}
    assert body["verified"] is (body["face1"]["liveness"]["live"] and body["face2"]["liveness"]["live"])


def test_a_face_that_fails_liveness_is_never_verified(api_client, models_ready, liveness_on):
    liveness_on.FACEAPP_LIVENESS_THRESHOLD = 0.999  # no genuine photo reaches it: every face fails
    body = api_client.post("/api/v1/verify", {"image1": upload("samples", "obama.jpg"), "image2": upload("samples", "obama2.jpg"),
                                              "liveness": "true"}, format="multipart").json()
    assert body["face1"]["liveness"]["live"] is False
    assert body["verified"] is False and body["decision"]["verdict"] == "named"  # the faces match; liveness refused them


def test_verify_with_liveness_but_none_configured_is_refused(api_client, models_ready):
    response = api_client.post("/api/v1/verify", {"image1": upload("samples", "obama.jpg"), "image2": upload("samples", "obama2.jpg"),
                                                  "liveness": "true"}, format="multipart")
    assert_error(response, 400, "liveness_unavailable")


def test_add_user_with_liveness_enrols_a_live_face(client, models_ready, liveness_on):
    response = client.post("/api/v1/add_user", {"name": "Rose Leslie", "birthdate": "1987-02-09", "liveness": "true",
                                                "image": upload("samples", "rose_leslie_img1.jpg")})
    assert response.status_code == 201, response.json()


def test_add_user_refuses_a_face_failing_liveness_and_stores_nothing(client, models_ready, liveness_on):
    liveness_on.FACEAPP_LIVENESS_THRESHOLD = 0.999
    response = client.post("/api/v1/add_user", {"name": "Rose Leslie", "birthdate": "1987-02-09", "liveness": "true",
                                                "image": upload("samples", "rose_leslie_img1.jpg")})
    body = assert_error(response, 400, "liveness_failed")
    assert body["liveness"]["live"] is False and body["liveness"]["threshold"] == 0.999
    assert not Person.objects.exists()


def test_add_user_with_a_req_id_checks_the_held_crop_and_keeps_the_req_id_when_it_fails(client, models_ready, liveness_on):
    req_id = client.post("/api/v1/recognise_user", {"image": upload("samples", "rose_leslie_img1.jpg")}).json()["req_id"]
    liveness_on.FACEAPP_LIVENESS_THRESHOLD = 0.999
    response = client.post("/api/v1/add_user", {"name": "Rose Leslie", "birthdate": "1987-02-09", "req_id": req_id, "liveness": True},
                           content_type="application/json")
    assert_error(response, 400, "liveness_failed")
    assert PendingEnrollment.objects.filter(req_id=req_id).exists() and not Person.objects.exists()
    liveness_on.FACEAPP_LIVENESS_THRESHOLD = 0.5
    response = client.post("/api/v1/add_user", {"name": "Rose Leslie", "birthdate": "1987-02-09", "req_id": req_id, "liveness": True},
                           content_type="application/json")
    assert response.status_code == 201, response.json()
