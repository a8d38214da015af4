"""Adding photos to a person from their page: as safe as enrolling (faces shown first, picked, checked for being
somebody else's, good photos kept while the bad are reported, a reviewed exception audited)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from faceapp.audit.models import AuditEntry
from tests.conftest import upload

from .conftest import req_ids_on

pytestmark = pytest.mark.django_db


def examine(operator, person, *photos):
    response = operator.post(reverse("ui:person-add", args=[person.id]), {"action": "examine", "photos": list(photos)})
    assert response.status_code == 200
    return response.content.decode()


def add(operator, person, req_ids, **extra):
    return operator.post(reverse("ui:person-add", args=[person.id]), {"action": "add", "shown": " ".join(req_ids), "req_id": req_ids, **extra})


def test_another_persons_face_is_named_before_adding_and_refused_when_added(operator, cast):
    page = examine(operator, cast.biden, upload("samples", "obama2.jpg"))
    assert "This face is already enrolled as" in page and reverse("ui:person", args=[cast.obama.id]) in page
    req_ids = req_ids_on(page)
    assert "checked" not in page  # not picked for the operator
    response = add(operator, cast.biden, req_ids)
    assert response.status_code == 409
    page = response.content.decode()
    assert "This face is already enrolled as" in page and "Barack Obama</a>" in page
    assert f"Barack Obama ({cast.obama.id}" not in page  # named, not numbered
    assert cast.biden.faces.count() == 1


def test_a_reviewed_exception_needs_a_reason_and_is_audited(operator, cast):
    req_ids = req_ids_on(examine(operator, cast.biden, upload("samples", "obama2.jpg")))
    response = add(operator, cast.biden, req_ids, reviewed=req_ids)
    assert response.status_code == 400 and "Say why" in response.content.decode()
    assert cast.biden.faces.count() == 1
    response = add(operator, cast.biden, req_ids, reviewed=req_ids, reason="same person, confirmed by HR")
    assert response.status_code == 302 and cast.biden.faces.count() == 2
    entry = AuditEntry.objects.filter(action="face.add", details__person_id=str(cast.biden.id)).latest("at")
    assert entry.details["reviewed_exception"] == "same person, confirmed by HR"
    assert entry.details["resembles_person_name"] == "Barack Obama" and entry.username == "operator"


def test_a_group_photo_offers_every_face_and_picks_the_persons_own(operator, cast):
    page = examine(operator, cast.biden, upload("samples", "obama_and_biden.jpg"))
    req_ids = req_ids_on(page)
    assert len(req_ids) >= 2 and page.count("<rect ") == len(req_ids)
    assert "pick Joe Biden" in page and "looks like Joe Biden" in page
    picked = [r for r in req_ids if f'value="{r}" checked' in page]
    assert len(picked) == 1
    assert add(operator, cast.biden, picked).status_code == 302
    assert cast.biden.faces.count() == 2


def test_a_batch_keeps_its_good_faces_and_reports_the_refused_one(operator, cast):
    page = examine(operator, cast.biden, upload("samples", "biden_biden2.jpg"), upload("samples", "obama2.jpg"))
    req_ids = req_ids_on(page)
    response = add(operator, cast.biden, req_ids)
    assert response.status_code == 409 and "1 face not added" in response.content.decode()
    assert cast.biden.faces.count() == 2  # the good one is in
    assert req_ids_on(response.content.decode()) == [req_ids[1]]  # the refused one is still held, to review


def test_picking_nothing_says_so(operator, cast):
    page = examine(operator, cast.biden, upload("samples", "obama_and_biden.jpg"))
    response = operator.post(reverse("ui:person-add", args=[cast.biden.id]), {"action": "add", "shown": " ".join(req_ids_on(page))})
    assert response.status_code == 400 and "Pick at least one face." in response.content.decode()
