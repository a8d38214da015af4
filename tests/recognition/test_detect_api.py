import math

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import assert_error, client_with_key, upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/detect"


def detect(client, *parts, **options):
    return client.post(URL, {"image": upload(*parts), **options}, format="multipart")


def test_detect_returns_every_face_with_box_landmarks_score_and_quality(api_client, models_ready):
    response = detect(api_client, "samples", "obama_and_biden.jpg")
    body = response.json()
    assert response.status_code == 200, body
    assert body["image"]["width"] > 0 and len(body["faces"]) == 3
    areas = [f["box"]["width"] * f["box"]["height"] for f in body["faces"]]
    assert areas == sorted(areas, reverse=True)  # largest first
    for index, face in enumerate(body["faces"]):
        assert face["index"] == index
        box = face["box"]
        assert set(face["landmarks"]) == {"left_eye", "right_eye", "nose", "mouth_left", "mouth_right"}
        for point in face["landmarks"].values():
            assert box["x"] - 2 <= point["x"] <= box["x"] + box["width"] + 2 and box["y"] - 2 <= point["y"] <= box["y"] + box["height"] + 2
        assert face["detection_score"] >= 0.95
        assert set(face["quality"]) == {"detection_score", "face_size", "sharpness", "yaw", "pitch", "roll"}
        assert "embedding" not in face


def test_detect_with_embedding_true_returns_normalised_512_d_vectors(api_client, models_ready):
    body = detect(api_client, "samples", "obama.jpg", embedding="true").json()
    vector = body["faces"][0]["embedding"]
    assert len(vector) == 512
    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, abs_tol=1e-3)


def test_detect_embedding_matches_for_two_photos_of_one_person(api_client, models_ready):
    a = detect(api_client, "samples", "obama.jpg", embedding="true").json()["faces"][0]["embedding"]
    b = detect(api_client, "samples", "obama2.jpg", embedding="true").json()["faces"][0]["embedding"]
    c = detect(api_client, "samples", "biden.jpg", embedding="true").json()["faces"][0]["embedding"]
    dot = lambda u, v: sum(x * y for x, y in zip(u, v))  # noqa: E731
    assert dot(a, b) > 0.5 > dot(a, c)


def test_detect_options_limit_the_faces(api_client, models_ready):
    everything = detect(api_client, "samples", "obama_and_biden.jpg").json()["faces"]
    assert len(detect(api_client, "samples", "obama_and_biden.jpg", max_faces=1).json()["faces"]) == 1
    smallest = min(f["quality"]["face_size"] for f in everything)
    bigger = detect(api_client, "samples", "obama_and_biden.jpg", min_face_size=smallest + 5).json()["faces"]
    assert 0 < len(bigger) < len(everything)
    strict = detect(api_client, "samples", "obama_and_biden.jpg", detection_threshold=1.0).json()["faces"]
    assert len(strict) <= len(everything)


def test_detect_on_a_photo_without_faces_returns_an_empty_list(api_client, models_ready):
    body = detect(api_client, "nonfaces", "brick.jpg").json()
    assert body["faces"] == []


@pytest.mark.parametrize(
    "options, named",
    [({"min_face_size": 3}, "min_face_size"), ({"detection_threshold": 1.5}, "detection_threshold"),
     ({"max_faces": 0}, "max_faces"), ({"embedding": "maybe"}, "embedding"), ({"max_faces": "many"}, "max_faces")],
)
def test_detect_with_bad_options_is_a_400_naming_them(api_client, options, named):
    body = assert_error(detect(api_client, "samples", "obama.jpg", **options), 400, "invalid_request")
    assert named in body["fields"]


def test_detect_bad_uploads(api_client, settings):
    assert_error(api_client.post(URL, {}, format="multipart"), 400, "invalid_request")
    assert_error(api_client.post(URL, {"image": SimpleUploadedFile("e.jpg", b"")}, format="multipart"), 400, "empty_image")
    assert_error(api_client.post(URL, {"image": SimpleUploadedFile("e.jpg", b"GIF89a nope" * 9)}, format="multipart"), 415, "invalid_image")
    assert_error(api_client.post(URL, {"image": "x"}, format="json"), 415, "unsupported_media_type")
    settings.FACEAPP_MAX_UPLOAD_BYTES = 10_000
    assert_error(detect(api_client, "samples", "obama.jpg"), 413, "image_too_large")


def test_detect_needs_a_key_and_read_scope_suffices(client, api_key, models_ready):
    assert_error(client.post(URL, {"image": upload("samples", "obama.jpg")}), 401, "unauthenticated")
    assert detect(client_with_key(api_key("read")), "samples", "obama.jpg").status_code == 200


def test_an_image_above_the_pixel_limit_is_a_413_over_http(api_client, settings):
    """FACEAPP_MAX_IMAGE_PIXELS, through the API: the photo is refused from its header, with the limit in words."""
    settings.FACEAPP_MAX_IMAGE_PIXELS = 100_000  # obama.jpg is larger than that
    body = assert_error(detect(api_client, "samples", "obama.jpg"), 413, "image_too_large")
    assert "100,000 pixels" in body["message"]
