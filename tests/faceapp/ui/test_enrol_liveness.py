"""Liveness in the enrolment page: off (and said why) by default; when enabled, a picked face that fails it is refused
with its score and nothing is consumed. Real models, real database."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from enrollment.models import PendingEnrollment, Person
from tests.conftest import upload

from .conftest import req_ids_on


@pytest.fixture
def antispoof(settings):
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True
    settings.FACEAPP_LIVENESS_MODEL = "antispoof"
    return settings


def _examine(operator, *photos) -> tuple[str, list[str]]:
    page = operator.post(reverse("ui:enrol"), {"action": "examine", "photos": [upload("samples", p) for p in photos]}).content.decode()
    return page, req_ids_on(page)


def _liveness_box(page: str) -> str:
    match = re.search(r'<input[^>]*name="liveness"[^>]*>', page)
    assert match, "the enrolment form has no liveness box"
    return match.group(0)


@pytest.mark.django_db
def test_without_a_liveness_model_the_box_is_disabled_and_says_why(operator, models_ready):
    page, _ = _examine(operator, "astronaut.jpg")
    assert "disabled" in _liveness_box(page)
    assert "Liveness checks are not enabled on this server" in page and "FACEAPP_LIVENESS_MODEL" in page


@pytest.mark.django_db
def test_a_live_face_is_enrolled_with_the_check_asked_for(operator, models_ready, antispoof):
    page, req_ids = _examine(operator, "obama.jpg", "obama3.jpg")
    assert "disabled" not in _liveness_box(page)
    response = operator.post(reverse("ui:enrol"), {"action": "enrol", "shown": " ".join(req_ids), "req_id": req_ids,
                                                   "name": "Barack Obama", "liveness": "on"})
    person = Person.objects.get(name="Barack Obama")
    assert response.status_code == 302 and person.faces.count() == 2


@pytest.mark.django_db
def test_a_face_failing_the_check_is_refused_with_its_score_and_nothing_is_consumed(operator, models_ready, antispoof):
    # No spoof photo is at hand: a threshold above any score makes the genuine face fail, as a spoof would.
    antispoof.FACEAPP_LIVENESS_THRESHOLD = 1.01
    page, req_ids = _examine(operator, "obama.jpg", "obama3.jpg")
    response = operator.post(reverse("ui:enrol"), {"action": "enrol", "shown": " ".join(req_ids), "req_id": req_ids,
                                                   "name": "Barack Obama", "liveness": "on"})
    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(r"did not pass the liveness check \(score 0\.\d\d &lt; 1\.01\)", page), page[:2000]
    assert not Person.objects.filter(name="Barack Obama").exists()
    assert PendingEnrollment.objects.filter(req_id__in=req_ids).count() == 2  # both faces still held: pick again
    # Unticked, the same faces enrol: the check is the operator's choice per enrolment.
    response = operator.post(reverse("ui:enrol"), {"action": "enrol", "shown": " ".join(req_ids), "req_id": req_ids,
                                                   "name": "Barack Obama"})
    assert response.status_code == 302 and Person.objects.get(name="Barack Obama").faces.count() == 2


@pytest.mark.django_db
def test_a_disabled_box_cannot_be_forced_on_by_a_crafted_post(operator, models_ready):
    """A disabled field keeps its initial value whatever is posted: no LivenessUnavailable surprise at save."""
    _, req_ids = _examine(operator, "astronaut.jpg")
    response = operator.post(reverse("ui:enrol"), {"action": "enrol", "shown": " ".join(req_ids), "req_id": req_ids,
                                                   "name": "Eileen Collins", "liveness": "on"})
    assert response.status_code == 302 and Person.objects.filter(name="Eileen Collins").exists()
