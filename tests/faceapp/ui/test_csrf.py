"""CSRF on the operator pages' forms and on the API used through a staff session: a forged cross-site POST changes
nothing (403), a page's own form works."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from enrollment.models import Person
from videostreams.models import Camera, Rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def forged(staff):
    """A browser signed in as staff, posting from another site: Django's test client with CSRF checks on and no token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    return client


def test_forged_posts_to_the_operator_forms_are_refused_and_change_nothing(forged):
    person = Person.objects.create(name="Ada")
    camera = Camera.objects.create(name="door", source="0")
    rule = Rule.objects.create(name="r", trigger=Rule.Trigger.ANY, webhook_url="http://127.0.0.1:9/h", webhook_secret="k")
    attempts = [
        (reverse("ui:person-delete", kwargs={"person_id": person.id}), {}),
        (reverse("ui:camera", kwargs={"camera_id": camera.id}), {"name": "door", "source": "rtsp://10.0.0.9/x"}),
        (reverse("ui:rule", kwargs={"rule_id": rule.id}), {"name": "r", "trigger": "any", "webhook_url": "http://127.0.0.1:9/h",
                                                           "webhook_secret": "attacker"}),
        (reverse("ui:camera-delete", kwargs={"camera_id": camera.id}), {}),
        (reverse("ui:rule-delete", kwargs={"rule_id": rule.id}), {}),
    ]
    for url, data in attempts:
        assert forged.post(url, data).status_code == 403, url
    assert Person.objects.filter(pk=person.pk).exists()
    camera.refresh_from_db()
    rule.refresh_from_db()
    assert camera.source == "0" and rule.webhook_secret == "k"


def test_the_api_through_a_staff_session_needs_the_csrf_token_too(forged):
    response = forged.post("/api/v1/people", {"name": "Forged"}, content_type="application/json")
    assert response.status_code == 403 and not Person.objects.filter(name="Forged").exists()


def test_a_page_posting_its_own_token_works(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    person = Person.objects.create(name="Ada")
    page = client.get(reverse("ui:person-delete", kwargs={"person_id": person.id}))
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else client.cookies["csrftoken"].value
    response = client.post(reverse("ui:person-delete", kwargs={"person_id": person.id}), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and not Person.objects.filter(pk=person.pk).exists()
