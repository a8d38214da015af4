import uuid

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from enrollment.models import Face, Person
from faceapp.audit.models import AuditEntry
from tests.conftest import assert_error, upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/people"


def person_url(person_id) -> str:
    return f"{URL}/{person_id}"


def test_create_person_without_a_photo_returns_201_and_the_person(api_client):
    response = api_client.post(URL, {"name": " Ada Lovelace ", "email": "Ada@Example.org", "birthdate": "1815-12-10",
                                     "external_id": "EMP-7", "metadata": {"team": "engines"}}, format="json")
    body = response.json()
    assert response.status_code == 201, body
    assert body["name"] == "Ada Lovelace" and body["email"] == "ada@example.org" and body["birthdate"] == "1815-12-10"
    assert body["external_id"] == "EMP-7" and body["metadata"] == {"team": "engines"}
    assert body["face_count"] == 0 and body["watchlists"] == []
    assert Person.objects.filter(id=body["id"]).exists()


def test_create_person_with_a_photo_enrols_the_largest_face(api_client, models_ready):
    response = api_client.post(URL, {"name": "Barack Obama", "image": upload("samples", "obama.jpg")}, format="multipart")
    body = response.json()
    assert response.status_code == 201, body
    assert body["face_count"] == 1
    face = Face.objects.get(person_id=body["id"])
    assert default_storage.exists(face.crop.name) and default_storage.exists(face.source_image.name)


def test_create_person_with_a_photo_without_a_face_is_a_400_601_and_stores_nothing(api_client, models_ready):
    assert_error(api_client.post(URL, {"name": "Cat", "image": upload("nonfaces", "cat.jpg")}, format="multipart"), 400, 601)
    assert Person.objects.count() == 0


def test_create_person_with_a_non_image_is_a_415(api_client):
    fake = SimpleUploadedFile("notes.jpg", b"not pixels" * 50, content_type="image/jpeg")
    assert_error(api_client.post(URL, {"name": "X", "image": fake}, format="multipart"), 415, "invalid_image")


def test_create_person_in_watchlists(api_client):
    watchlist = api_client.post("/api/v1/watchlists", {"name": "vip"}, format="json").json()
    body = api_client.post(URL, {"name": "Grace", "watchlists": [watchlist["id"]]}, format="json").json()
    assert [w["id"] for w in body["watchlists"]] == [watchlist["id"]]


@pytest.mark.parametrize(
    "fields, named",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "X" * 201}, "name"),
        ({"name": "X", "email": "nope"}, "email"),
        ({"name": "X", "birthdate": "10/12/1815"}, "birthdate"),
        ({"name": "X", "birthdate": "0001-01-01"}, "birthdate"),  # a placeholder, not a birthdate
        ({"name": "X", "birthdate": "2999-01-01"}, "birthdate"),  # not born yet
        ({"name": "X", "metadata": [1, 2]}, "metadata"),
        ({"name": "X", "metadata": {"a": "nul\u0000"}}, "metadata"),
        ({"name": "nul\u0000"}, "name"),
        ({"name": "X", "watchlists": [str(uuid.uuid4())]}, "watchlists"),
        ({"name": "X", "watchlists": ["not-a-uuid"]}, "watchlists"),
    ],
)
def test_create_person_with_bad_fields_is_a_400_naming_the_field(api_client, fields, named):
    body = assert_error(api_client.post(URL, fields, format="json"), 400, "invalid_request")
    assert named in body["fields"], body


def test_create_person_with_a_taken_email_or_external_id_is_a_409(api_client):
    Person.objects.create(name="First", email="same@example.org", external_id="EMP-1")
    assert_error(api_client.post(URL, {"name": "B", "email": "SAME@example.org"}, format="json"), 409, "email_exists")
    assert_error(api_client.post(URL, {"name": "C", "external_id": "EMP-1"}, format="json"), 409, "external_id_exists")
    assert Person.objects.count() == 1


def test_list_people_is_paginated(api_client):
    Person.objects.bulk_create(Person(name=f"Person {i:02d}") for i in range(25))
    first = api_client.get(URL, {"page_size": 10}).json()
    assert first["count"] == 25 and len(first["results"]) == 10 and first["previous"] is None
    assert first["results"][0]["name"] == "Person 00"
    last = api_client.get(URL, {"page_size": 10, "page": 3}).json()
    assert [p["name"] for p in last["results"]] == [f"Person {i}" for i in range(20, 25)] and last["next"] is None
    assert_error(api_client.get(URL, {"page": 99}), 404, "not_found")


def test_list_people_filters_by_name_email_and_watchlist(api_client):
    watchlist = api_client.post("/api/v1/watchlists", {"name": "vip"}, format="json").json()
    api_client.post(URL, {"name": "Ada Lovelace", "email": "ada@example.org", "watchlists": [watchlist["id"]]}, format="json")
    api_client.post(URL, {"name": "Charles Babbage", "email": "charles@example.org"}, format="json")
    names = lambda **q: [p["name"] for p in api_client.get(URL, q).json()["results"]]  # noqa: E731
    assert names(name="love") == ["Ada Lovelace"]
    assert names(email="CHARLES@example.org") == ["Charles Babbage"]
    assert names(watchlist=watchlist["id"]) == ["Ada Lovelace"]
    assert names(watchlist=str(uuid.uuid4())) == []


def test_list_people_orders_as_asked(api_client):
    for name in ("Bea", "Al", "Cy"):
        api_client.post(URL, {"name": name}, format="json")
    names = lambda ordering: [p["name"] for p in api_client.get(URL, {"ordering": ordering}).json()["results"]]  # noqa: E731
    assert names("name") == ["Al", "Bea", "Cy"]
    assert names("-name") == ["Cy", "Bea", "Al"]
    assert names("created_at") == ["Bea", "Al", "Cy"]
    assert names("-created_at") == ["Cy", "Al", "Bea"]


@pytest.mark.parametrize("query", [{"ordering": "password"}, {"watchlist": "nope"}, {"name": "a\u0000b"}, {"page_size": "x"}])
def test_list_people_with_bad_query_parameters_is_a_400_or_ignored(api_client, query):
    response = api_client.get(URL, query)
    if "page_size" in query:  # a bad page size falls back to the default, as DRF does
        assert response.status_code == 200
    else:
        assert_error(response, 400, "invalid_request")


def test_retrieve_update_and_patch_a_person(api_client):
    person = api_client.post(URL, {"name": "Ada", "email": "ada@example.org"}, format="json").json()
    assert api_client.get(person_url(person["id"])).json()["name"] == "Ada"
    patched = api_client.patch(person_url(person["id"]), {"birthdate": "1815-12-10"}, format="json").json()
    assert patched["birthdate"] == "1815-12-10" and patched["email"] == "ada@example.org"
    replaced = api_client.put(person_url(person["id"]), {"name": "Augusta Ada King"}, format="json")
    assert replaced.status_code == 200
    assert (replaced.json()["name"], replaced.json()["email"], replaced.json()["birthdate"]) == ("Augusta Ada King", None, None)
    assert_error(api_client.put(person_url(person["id"]), {"email": "a@b.org"}, format="json"), 400, "invalid_request")


def test_update_person_to_a_taken_email_is_a_409(api_client):
    api_client.post(URL, {"name": "A", "email": "a@example.org"}, format="json")
    b = api_client.post(URL, {"name": "B", "email": "b@example.org"}, format="json").json()
    assert_error(api_client.patch(person_url(b["id"]), {"email": "A@example.org"}, format="json"), 409, "email_exists")
    assert api_client.patch(person_url(b["id"]), {"email": "b@example.org"}, format="json").status_code == 200  # its own


@pytest.mark.parametrize("path", [f"{URL}/{uuid.uuid4()}", f"{URL}/not-a-uuid", f"{URL}/123"])
def test_unknown_person_is_a_404_for_every_method(api_client, path):
    for method in ("get", "patch", "put", "delete"):
        assert_error(getattr(api_client, method)(path, {"name": "X"}, format="json"), 404, "not_found")


def test_deleting_a_person_deletes_their_faces_and_files_and_is_audited(api_client, models_ready, django_capture_on_commit_callbacks):
    person = api_client.post(URL, {"name": "Obama", "image": upload("samples", "obama.jpg")}, format="multipart").json()
    api_client.post(f"{person_url(person['id'])}/faces", {"image": [upload("samples", "obama2.jpg")]}, format="multipart")
    faces = list(Face.objects.filter(person_id=person["id"]))
    names = [f.name for face in faces for f in (face.crop, face.thumbnail, face.source_image)]
    assert len(faces) == 2 and len(names) == 6 and all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.delete(person_url(person["id"]))
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "deleted", "id": person["id"], "faces_deleted": 2}
    assert not Person.objects.filter(id=person["id"]).exists() and not Face.objects.filter(person_id=person["id"]).exists()
    assert not any(default_storage.exists(n) for n in names)
    entry = AuditEntry.objects.get(action="person.delete")
    assert entry.target_id == person["id"] and entry.details["faces_deleted"] == 2 and entry.api_key is not None
    assert_error(api_client.get(person_url(person["id"])), 404, "not_found")


def test_people_need_a_key_and_writes_need_the_enroll_scope(client, api_key):
    from tests.conftest import client_with_key

    assert_error(client.get(URL), 401, "unauthenticated")
    reader = client_with_key(api_key("read"))
    assert reader.get(URL).status_code == 200
    assert_error(reader.post(URL, {"name": "X"}, format="json"), 403, "forbidden")
    enroller = client_with_key(api_key("enroll"))
    person = enroller.post(URL, {"name": "X"}, format="json").json()
    assert_error(reader.delete(person_url(person["id"])), 403, "forbidden")
    assert enroller.delete(person_url(person["id"])).status_code == 200
