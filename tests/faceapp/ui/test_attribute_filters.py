"""The estimate filters of the operator's "Seen where?" page (Django's test client, real models and database)."""
import pytest
from django.urls import reverse

from recognition.attributes import EMOTIONS
from tests.conftest import upload
from tests.enrollment.sighting_photos import keep


@pytest.mark.django_db
def test_the_search_page_filters_the_sightings_by_estimated_gender(operator, models_ready):
    woman, man = keep("astronaut.jpg")[0], keep("biden.jpg")[0]
    assert (woman.gender, man.gender) == ("female", "male")
    crop_of = {s: reverse("ui:sighting-crop", args=[s.id]) for s in (woman, man)}
    every = operator.post(reverse("ui:sightings-search"), {"image": upload("samples", "biden.jpg")}).content.decode()
    assert crop_of[woman] in every and crop_of[man] in every
    women = operator.post(reverse("ui:sightings-search"), {"image": upload("samples", "biden.jpg"), "gender": "female"}).content.decode()
    assert crop_of[woman] in women and crop_of[man] not in women
    hers = operator.post(reverse("ui:sightings-search"), {"image": upload("samples", "biden.jpg"), "emotion": woman.emotion}).content.decode()
    assert crop_of[woman] in hers and (crop_of[man] in hers) == (man.emotion == woman.emotion)
    other = next(e for e in EMOTIONS if e not in (woman.emotion, man.emotion))
    nobody = operator.post(reverse("ui:sightings-search"), {"image": upload("samples", "biden.jpg"), "emotion": other})
    assert nobody.status_code == 200 and not any(url in nobody.content.decode() for url in crop_of.values())
