"""Estimates kept with enrolled faces and sightings (enrollment.estimates), and the filters on them: the people list
(service, API, operator page), the search of the past and a person's timeline. Real models, real database."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from enrollment import estimates, people, sighting_search
from enrollment.models import Face, Sighting
from tests.conftest import upload
from tests.enrollment.sighting_photos import keep_via_api as keep


@pytest.fixture
def collins(cast):
    """Eileen Collins (the astronaut photo) beside the cast's men."""
    response = cast.enroll.post("/api/v1/people", {"name": "Eileen Collins", "image": upload("samples", "astronaut.jpg")},
                                format="multipart")
    assert response.status_code == 201, response.json()
    return people.get_person(response.json()["id"])


def test_an_enrolled_face_keeps_its_estimates_with_the_default_models(cast, collins):
    face = Face.objects.get(person=collins)
    # FACEAPP_FACE_ATTRIBUTES is gender and age (face-api's net by default), not emotion.
    assert face.gender == "female" and 0.5 <= face.gender_score <= 1 and 20 < face.age < 80 and face.emotion is None
    assert {f.gender for f in Face.objects.filter(person=cast.obama)} == {"male"}


def test_without_an_age_model_the_face_keeps_no_age(settings, cast):
    settings.FACEAPP_AGE_MODEL = "none"
    response = cast.enroll.post("/api/v1/people", {"name": "Eileen Collins", "image": upload("samples", "astronaut.jpg")},
                                format="multipart")
    face = Face.objects.get(person_id=response.json()["id"])
    assert face.age is None and face.gender == "female"


def test_the_people_list_filters_by_the_faces_estimates_and_shows_them(cast, collins):
    women = people.people(gender="female")
    assert list(women) == [collins] and women[0].estimated_gender == "female"
    assert collins not in people.people(gender="male") and cast.obama in people.people(gender="male")
    # Ages: each person's is the mean of their faces' estimates; a filter keeps exactly those within it.
    ages = {p.id: p.estimated_age for p in people.people()}
    assert all(age is not None for age in ages.values())
    youngest = min(ages.values())
    assert {p.id for p in people.people(age_max=youngest)} == {i for i, a in ages.items() if a <= youngest}
    assert {p.id for p in people.people(age_min=youngest + 0.05)} == {i for i, a in ages.items() if a > youngest}
    faceless = people.create_person(name="Nobody Photographed")
    assert faceless not in people.people(age_min=0) and faceless not in people.people(gender="female")
    body = cast.read.get("/api/v1/people", {"gender": "female"}).json()
    assert [p["id"] for p in body["results"]] == [str(collins.id)]
    assert cast.read.get("/api/v1/people", {"age_min": 40, "age_max": 30}).status_code == 400


def test_the_operator_people_page_filters_by_estimated_gender(client, django_user_model, cast, collins):
    client.force_login(django_user_model.objects.create_user("operator", password="x", is_staff=True))
    page = client.get(reverse("ui:people"), {"gender": "female"}).content.decode()
    assert "Eileen Collins" in page and "Barack Obama" not in page
    assert 'class="attr-badge gender-female"' in page
    page = client.get(reverse("ui:people"), {"age_min": "-3"}).content.decode()
    assert "Estimated age from:" in page  # the bad value is named, not ignored silently


def test_an_api_sighting_is_estimated_from_its_crop_and_the_search_filters_on_it(cast, collins):
    woman, man = keep(cast.read, "astronaut.jpg"), keep(cast.read, "biden.jpg")
    assert (woman.gender, man.gender) == ("female", "male")
    assert woman.emotion is not None and woman.age is not None  # FACEAPP_SIGHTING_ATTRIBUTES: gender, age, emotion
    vector, _ = sighting_search.vector_of_image(upload("samples", "biden.jpg").read())
    found = sighting_search.search(vector, gender="female")
    assert [h.sighting.id for h in found.hits] == [woman.id]
    response = cast.read.post("/api/v1/sightings/search", {"image": upload("samples", "biden.jpg"), "gender": "male"},
                              format="multipart")
    body = response.json()
    assert response.status_code == 200, body
    assert [r["id"] for r in body["results"]] == [str(man.id)] and body["results"][0]["gender"] == "male"
    oldest = max(woman.age, man.age)
    response = cast.read.post("/api/v1/sightings/search", {"image": upload("samples", "biden.jpg"), "age_min": oldest},
                              format="multipart")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(s.id) for s in (woman, man) if s.age >= oldest]


def test_a_persons_timeline_filters_by_the_estimates(cast):
    seen = keep(cast.read, "obama2.jpg")
    assert seen.person_id == cast.obama.id
    url = f"/api/v1/people/{cast.obama.id}/sightings"
    assert [r["id"] for r in cast.read.get(url, {"gender": "male"}).json()["results"]] == [str(seen.id)]
    assert cast.read.get(url, {"gender": "female"}).json()["results"] == []
    assert cast.read.get(url, {"emotion": "bored"}).status_code == 400


def test_a_sighting_made_without_estimates_is_estimated_afterwards_by_the_command(settings, cast, collins):
    settings.FACEAPP_SIGHTING_ATTRIBUTES = ""
    seen = keep(cast.read, "astronaut.jpg")
    assert seen.estimates is None
    Face.objects.filter(person=collins).update(gender=None, gender_score=None, age=None)  # as made before estimates
    settings.FACEAPP_SIGHTING_ATTRIBUTES = "gender"
    call_command("estimate_attributes")
    seen.refresh_from_db()
    assert seen.gender == "female" and seen.emotion is None
    assert Face.objects.get(person=collins).gender == "female"
    assert estimates.fill(Sighting.objects.all(), ["gender"]) == 0  # nothing left without estimates


def test_a_crop_that_cannot_be_decoded_is_left_without_estimates_and_the_others_are_estimated(models_ready):
    from tests.conftest import read_bytes
    from recognition import pipeline
    from enrollment.images import encode_jpeg

    good = encode_jpeg(pipeline.analyse_bytes(read_bytes("samples", "obama.jpg")).largest_face().crop)
    found = estimates.of_jpegs([b"\xff\xd8\xff\xd9", good, b"not an image"], ("gender", "age"))
    assert found[0].gender is None and found[0].age is None
    assert found[2].gender is None and found[2].age is None
    assert found[1].gender == "male" and found[1].age is not None
