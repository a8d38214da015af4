import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.dateparse import parse_datetime

from enrollment.models import PendingEnrollment, Person
from tests.conftest import assert_error, upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/recognise_user"


def recognise(client, *parts):
    return client.post(URL, {"image": upload(*parts)})


def test_recognise_user_returns_req_id_when_no_match(client, models_ready):
    response = recognise(client, "samples", "obama.jpg")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "failure" and body["message"] == "no_match"
    pending = PendingEnrollment.objects.get(req_id=body["req_id"])
    expires = parse_datetime(body["expiresAt"])
    assert expires == pending.expires_at
    assert dt.timedelta(minutes=14) < expires - pending.created_at <= dt.timedelta(minutes=15, seconds=1)
    assert body["metadata"]["faces_detected"] == 1
    assert body["metadata"]["detection_confidence"] > 0.95
    assert set(body["metadata"]["quality"]) >= {"detection_score", "face_size", "sharpness", "yaw", "pitch", "roll"}


def test_recognise_user_finds_an_enrolled_person_from_another_photo(client, models_ready):
    first = recognise(client, "samples", "obama.jpg").json()
    added = client.post(
        "/api/v1/add_user",
        {"name": "Barack Obama", "birthdate": "1961-08-04", "email": "barack@example.org", "req_id": first["req_id"]},
        content_type="application/json",
    )
    assert added.status_code == 201, added.json()
    body = recognise(client, "samples", "obama2.jpg").json()
    assert body["status"] == "success" and body["message"] == "Match found"
    assert body["user_info"] == {"id": added.json()["user_id"], "name": "Barack Obama", "email": "barack@example.org", "birthdate": "1961-08-04"}
    assert body["similarity"] >= 0.5
    stranger = recognise(client, "samples", "biden.jpg").json()
    assert stranger["status"] == "failure" and stranger["message"] == "no_match"


def test_recognise_user_uses_the_largest_face_and_says_how_many_it_saw(client, models_ready):
    body = recognise(client, "samples", "obama_and_biden.jpg").json()
    assert body["metadata"]["faces_detected"] == 3
    assert body["metadata"]["face_used"] == "largest"


def test_recognise_user_without_a_face_is_a_400_with_code_601(client, models_ready):
    assert_error(recognise(client, "nonfaces", "coffee.jpg"), 400, 601)
    assert PendingEnrollment.objects.count() == 0


def test_recognise_user_without_an_image_field_is_a_400_naming_it(client):
    body = assert_error(client.post(URL, {}), 400, "invalid_request")
    assert "image" in body["message"]


def test_recognise_user_with_an_empty_file_is_a_400(client):
    assert_error(client.post(URL, {"image": SimpleUploadedFile("empty.jpg", b"")}), 400, "empty_image")


def test_recognise_user_with_a_non_image_is_a_415(client):
    fake = SimpleUploadedFile("notes.jpg", b"these are not pixels" * 100, content_type="image/jpeg")
    assert_error(client.post(URL, {"image": fake}), 415, "invalid_image")


def test_recognise_user_with_a_corrupt_jpeg_is_a_415(client, models_ready):
    from tests.conftest import read_bytes

    data = read_bytes("samples", "obama.jpg")
    corrupt = SimpleUploadedFile("broken.jpg", data[:2000], content_type="image/jpeg")
    assert_error(client.post(URL, {"image": corrupt}), 415, "invalid_image")


def test_recognise_user_with_a_huge_upload_is_a_413(client, settings):
    settings.FACEAPP_MAX_UPLOAD_BYTES = 50_000
    assert_error(recognise(client, "samples", "obama.jpg"), 413, "image_too_large")


def test_recognise_user_with_a_json_body_is_a_415(client):
    assert_error(client.post(URL, {"image": "x"}, content_type="application/json"), 415, "unsupported_media_type")


def test_recognise_user_leaves_no_rows_when_it_fails(client):
    assert_error(client.post(URL, {"image": SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n garbage")}), 415)
    assert PendingEnrollment.objects.count() == 0 and Person.objects.count() == 0


def test_recognise_user_is_a_503_when_the_database_is_down(models_ready):
    # A real outage: a separate process whose DATABASE_URL points at a port nothing listens on.
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import data_path

    photo = data_path("samples", "obama.jpg")
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        f"r = Client().post('/api/v1/recognise_user', {{'image': open({str(photo)!r}, 'rb')}});"
        "print(json.dumps({'status': r.status_code, 'header': r['X-Request-ID'], 'body': r.json()}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "faceapp.settings", "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
           "DB_CONNECT_TIMEOUT": "2", "ALLOWED_HOSTS": "testserver"}
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 503
    assert outcome["body"]["status"] == "error" and outcome["body"]["error_code"] == "database_unavailable"
    assert outcome["body"]["requestId"] == outcome["header"]
    assert "Traceback" not in outcome["body"]["message"]


def test_recognise_user_reports_its_stage_timings_in_server_timing(client, models_ready):
    response = recognise(client, "samples", "obama.jpg")
    timing = dict(part.strip().split(";dur=") for part in response["Server-Timing"].split(","))
    assert {"decode", "detect", "crop", "embed", "search", "store", "app"} <= set(timing)
    assert float(timing["app"]) >= float(timing["detect"]) + float(timing["embed"]) > 0
