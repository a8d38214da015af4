"""An integrator's first session, as a real client would go through it: every call over HTTP with an API key.

Create a key, create a watchlist, enrol three people from lfw-dev with two photos each, identify a third photo
of each, verify same and different pairs, delete one person and see identify stop returning them.
"""
import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.conftest import shared_data_path

pytestmark = pytest.mark.django_db

PEOPLE = ["Amelie_Mauresmo", "Andy_Roddick", "Bill_Clinton"]


def photo(path):
    return open(path, "rb")  # closed by the test client once sent


def photos_of(name):
    return sorted(shared_data_path("lfw-dev", name).glob("*.jpg"))


def test_an_integrator_enrols_identifies_verifies_and_deletes(models_ready, django_capture_on_commit_callbacks):
    # 1. The operator makes an admin key with the management command; the integrator sends it in a header.
    out = io.StringIO()
    call_command("create_api_key", "integration test", "--scope", "admin", stdout=out, stderr=io.StringIO())
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=out.getvalue().strip())

    # 2. A watchlist.
    response = api.post("/api/v1/watchlists", {"name": "tennis and politics"}, format="json")
    assert response.status_code == 201, response.json()
    watchlist = response.json()["id"]

    # 3. Three people, each created with one photo and given a second.
    ids = {}
    for name in PEOPLE:
        first, second = photos_of(name)[:2]
        with photo(first) as image:
            response = api.post("/api/v1/people", {"name": name.replace("_", " "), "watchlists": [watchlist], "image": image},
                                format="multipart")
        assert response.status_code == 201, response.json()
        ids[name] = response.json()["id"]
        with photo(second) as image:
            response = api.post(f"/api/v1/people/{ids[name]}/faces", {"image": [image]}, format="multipart")
        assert response.status_code == 201, response.json()
        assert api.get(f"/api/v1/people/{ids[name]}").json()["face_count"] == 2
    listed = api.get("/api/v1/people", {"watchlist": watchlist}).json()
    assert listed["count"] == 3

    # 4. A third photo of each is identified as that person, first.
    def identify(path, **fields):
        with photo(path) as image:
            response = api.post("/api/v1/identify", {"image": image, "limit": 3, **fields}, format="multipart")
        assert response.status_code == 200, response.json()
        return response.json()["faces"][0]["candidates"]

    for name in PEOPLE:
        candidates = identify(photos_of(name)[2], watchlists=[watchlist])
        assert candidates and candidates[0]["person"]["id"] == ids[name], (name, candidates)

    # 5. Verify: two photos of one person are the same, of two people different; and a photo against a person.
    def verify(path1, path2=None, **fields):
        with photo(path1) as image1:
            data = {"image1": image1, **fields}
            if path2 is None:
                response = api.post("/api/v1/verify", data, format="multipart")
            else:
                with photo(path2) as image2:
                    response = api.post("/api/v1/verify", {**data, "image2": image2}, format="multipart")
        assert response.status_code == 200, response.json()
        return response.json()

    for name in PEOPLE:
        assert verify(photos_of(name)[0], photos_of(name)[2])["verified"] is True, name
        assert verify(photos_of(name)[2], person_id=ids[name])["verified"] is True, name
    for a, b in zip(PEOPLE, PEOPLE[1:] + PEOPLE[:1]):
        assert verify(photos_of(a)[0], photos_of(b)[0])["verified"] is False, (a, b)

    # 6. Delete one person: identify no longer returns them, even at any score.
    gone = PEOPLE[0]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/people/{ids[gone]}").status_code == 200
    assert api.get(f"/api/v1/people/{ids[gone]}").status_code == 404
    candidates = identify(photos_of(gone)[2], threshold=-1)
    assert ids[gone] not in [c["person"]["id"] for c in candidates]
    assert {c["person"]["id"] for c in candidates} == {ids[name] for name in PEOPLE[1:]}
    assert api.get("/api/v1/people").json()["count"] == 2
