"""'Who is this?': a crop per face, the decision in words, the preset and watchlists, and its one-click actions."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.models import PendingEnrollment
from tests.conftest import upload

pytestmark = pytest.mark.django_db


def who(operator, photo, **fields):
    response = operator.post(reverse("ui:who"), {"photo": photo, **fields})
    assert response.status_code == 200, response.content.decode()[:500]
    return response.content.decode()


def test_every_face_has_its_crop_and_the_decision_in_words(operator, cast):
    page = who(operator, upload("samples", "obama2.jpg"))
    crops = re.findall(r'<img class="crop" src="/ui/pending/([0-9a-f]+)/crop.jpg"', page)
    assert len(crops) == page.count('class="who-face"') == 1
    assert operator.get(reverse("ui:pending-crop", args=[crops[0]])).content[:2] == b"\xff\xd8"
    assert "This is Barack Obama" in page and 'class="badge named"' in page


def test_add_to_this_person_adds_the_face_to_them(operator, cast):
    page = who(operator, upload("samples", "obama2.jpg"))
    assert "Add to Barack Obama" in page
    req_id = re.search(r'name="req_id" value="([0-9a-f]+)"', page).group(1)
    before = cast.obama.faces.count()
    response = operator.post(reverse("ui:who-add", args=[cast.obama.id]), {"req_id": req_id})
    assert response.status_code == 302 and response["Location"] == reverse("ui:person", args=[cast.obama.id])
    assert cast.obama.faces.count() == before + 1
    assert not PendingEnrollment.objects.filter(req_id=req_id).exists()


def test_add_to_another_person_is_refused_naming_whose_face_it_is(operator, cast):
    page = who(operator, upload("samples", "obama2.jpg"))
    req_id = re.search(r'name="req_id" value="([0-9a-f]+)"', page).group(1)
    response = operator.post(reverse("ui:who-add", args=[cast.biden.id]), {"req_id": req_id})
    assert response.status_code == 409 and "already enrolled as" in response.content.decode()
    assert cast.biden.faces.count() == 1


def test_an_unknown_face_offers_enrol_as_new_and_keep_as_unknown(operator, cast):
    page = who(operator, upload("lfw-dev", "Adam_Sandler", "Adam_Sandler_0001.jpg"))
    assert "Unknown: nobody enrolled is close" in page and "Enrol as new person" in page and "Keep as unknown" in page
    assert "Add to " not in page
    req_id = re.search(r"\?req_id=([0-9a-f]+)", page).group(1)
    response = operator.post(reverse("ui:pending-keep", args=[req_id]))
    assert response.status_code == 302 and response["Location"].endswith(f"#pending-{req_id}")
    kept = PendingEnrollment.objects.get(req_id=req_id)
    assert kept.expires_at > timezone.now() + dt.timedelta(days=6)


def test_the_preset_and_the_watchlists_decide(operator, cast):
    page = who(operator, upload("samples", "biden.jpg"), preset="strict", watchlists=[cast.staff.id])
    assert "Decided at <strong>strict</strong>" in page and "in staff" in page
    assert "This is Joe Biden" not in page  # Biden is not in the staff watchlist: not searched
    assert "This is Joe Biden" in who(operator, upload("samples", "biden.jpg"), preset="strict")
