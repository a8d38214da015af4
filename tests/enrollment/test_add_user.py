import pytest
import time_machine
from django.core.files.storage import default_storage

from enrollment.models import Face, PendingEnrollment, Person
from tests.conftest import assert_error, upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/add_user"


def req_id_for(client, *parts) -> str:
    body = client.post("/api/v1/recognise_user", {"image": upload(*parts)}).json()
    assert body["message"] == "no_match", body
    return body["req_id"]


def add_json(client, **fields):
    return client.post(URL, fields, content_type="application/json")


def test_add_user_with_req_id_creates_the_person_and_their_face(client, models_ready):
    req_id = req_id_for(client, "samples", "obama.jpg")
    response = add_json(client, name="Barack Obama", birthdate="1961-08-04", email="Barack@Example.org", req_id=req_id)
    body = response.json()
    assert response.status_code == 201, body
    assert body["status"] == "success" and body["message"] == "User added successfully"
    person = Person.objects.get(id=body["user_id"])
    assert person.email == "barack@example.org"
    face = person.faces.get()
    assert face.source == f"req_id:{req_id}"
    assert default_storage.exists(face.crop.name) and default_storage.exists(face.thumbnail.name)
    assert not PendingEnrollment.objects.filter(req_id=req_id).exists()


def test_add_user_consumes_the_req_id_so_it_cannot_be_used_twice(client, models_ready):
    req_id = req_id_for(client, "samples", "obama.jpg")
    assert add_json(client, name="A", birthdate="1961-08-04", req_id=req_id).status_code == 201
    assert_error(add_json(client, name="B", birthdate="1961-08-04", req_id=req_id, allow_duplicates=True), 404, "req_id_not_found")
    assert Person.objects.count() == 1


def test_add_user_with_multipart_image_stores_the_source_photo(client, models_ready):
    response = client.post(URL, {"name": "Joe Biden", "birthdate": "1942-11-20", "image": upload("samples", "biden.jpg")})
    assert response.status_code == 201, response.json()
    face = Face.objects.get(person_id=response.json()["user_id"])
    assert face.source_image.name.endswith(".jpg") and len(face.source_sha256) == 64


def test_add_user_with_unknown_req_id_is_a_404(client):
    assert_error(add_json(client, name="X", birthdate="2000-01-01", req_id="0" * 32), 404, "req_id_not_found")


def test_add_user_with_expired_req_id_is_a_404_even_before_the_sweep(client, models_ready):
    with time_machine.travel("2026-01-01 12:00:00+00:00", tick=False):
        req_id = req_id_for(client, "samples", "obama.jpg")
    with time_machine.travel("2026-01-01 12:15:01+00:00", tick=False):
        assert PendingEnrollment.objects.filter(req_id=req_id).exists()  # not swept yet
        assert_error(add_json(client, name="Late", birthdate="2000-01-01", req_id=req_id), 404, "req_id_not_found")
    assert Person.objects.count() == 0


def test_add_user_just_before_expiry_succeeds(client, models_ready):
    with time_machine.travel("2026-01-01 12:00:00+00:00", tick=False):
        req_id = req_id_for(client, "samples", "obama.jpg")
    with time_machine.travel("2026-01-01 12:14:59+00:00", tick=False):
        assert add_json(client, name="On time", birthdate="2000-01-01", req_id=req_id).status_code == 201


def test_add_user_with_duplicate_email_is_a_409(client, models_ready):
    first = req_id_for(client, "samples", "obama.jpg")
    assert add_json(client, name="Obama", birthdate="1961-08-04", email="same@example.org", req_id=first).status_code == 201
    second = req_id_for(client, "samples", "biden.jpg")
    assert_error(add_json(client, name="Biden", birthdate="1942-11-20", email="SAME@example.org", req_id=second), 409, "email_exists")
    assert PendingEnrollment.objects.filter(req_id=second).exists()  # a refused request consumes nothing
    assert Person.objects.count() == 1


def test_add_user_with_a_face_already_enrolled_is_a_409_naming_the_person(client, models_ready):
    existing = client.post(URL, {"name": "Obama", "birthdate": "1961-08-04", "image": upload("samples", "obama.jpg")}).json()
    body = assert_error(
        client.post(URL, {"name": "Obama again", "birthdate": "1961-08-04", "image": upload("samples", "obama2.jpg")}), 409, "duplicate_face"
    )
    assert body["existing_user_id"] == existing["user_id"]
    assert existing["user_id"] in body["message"]
    assert Person.objects.count() == 1


def test_add_user_allow_duplicates_enrols_the_same_face_again(client, models_ready):
    client.post(URL, {"name": "Obama", "birthdate": "1961-08-04", "image": upload("samples", "obama.jpg")})
    again = client.post(URL, {"name": "Obama 2", "birthdate": "1961-08-04", "allow_duplicates": "true", "image": upload("samples", "obama2.jpg")})
    assert again.status_code == 201, again.json()


@pytest.mark.parametrize(
    "fields, named",
    [
        ({"birthdate": "2000-01-01", "req_id": "abc"}, "name"),
        ({"name": "X", "req_id": "abc"}, "birthdate"),
        ({"name": "X", "birthdate": "01/02/2000", "req_id": "abc"}, "birthdate"),
        ({"name": "X", "birthdate": "0001-01-01", "req_id": "abc"}, "birthdate"),
        ({"name": "X", "birthdate": "9999-12-31", "req_id": "abc"}, "birthdate"),
        ({"name": "X", "birthdate": "2000-01-01", "email": "not-an-email", "req_id": "abc"}, "email"),
        ({"name": "X", "birthdate": "2000-01-01"}, "req_id"),
        ({"name": "", "birthdate": "2000-01-01", "req_id": "abc"}, "name"),
    ],
)
def test_add_user_with_bad_fields_is_a_400_naming_the_field(client, fields, named):
    body = assert_error(add_json(client, **fields), 400, "invalid_request")
    assert body["message"].startswith(f"{named}:")
    assert named in body["fields"]


def test_add_user_with_malformed_json_is_a_400(client):
    assert_error(client.post(URL, "{not json", content_type="application/json"), 400, "malformed_request")


def test_add_user_with_an_image_without_a_face_is_a_400_601_and_stores_nothing(client, models_ready, media_in_tmp):
    assert_error(client.post(URL, {"name": "Cat", "birthdate": "2000-01-01", "image": upload("nonfaces", "cat.jpg")}), 400, 601)
    assert Person.objects.count() == 0
    assert not any(p.is_file() for p in media_in_tmp.rglob("*")) if media_in_tmp.exists() else True


def test_add_user_with_an_external_id_already_used_is_a_409(client, models_ready):
    Person.objects.create(name="Someone", external_id="EMP-1")
    req_id = req_id_for(client, "samples", "obama.jpg")
    assert_error(add_json(client, name="Obama", birthdate="1961-08-04", external_id="EMP-1", req_id=req_id), 409, "external_id_exists")
