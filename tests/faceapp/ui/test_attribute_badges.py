"""The operator UI shows estimated face attributes as badges (templates/ui/_attribute_badges.html)."""
import pytest
from django.urls import reverse

from tests.conftest import upload


@pytest.fixture
def operator(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("operator", password="a long pass phrase 1", is_staff=True))
    return client


@pytest.mark.django_db
def test_who_is_this_shows_each_faces_estimated_attributes(operator, cast):
    page = operator.post(reverse("ui:who"), {"photo": upload("samples", "obama_and_biden.jpg")}).content.decode()
    assert page.count('class="attr-badges"') == page.count('class="who-face"')
    assert 'class="attr-badge gender-male"' in page and 'class="attr-badge emotion"' in page
    assert 'class="attr-badge age"' in page  # face-api's age by default
