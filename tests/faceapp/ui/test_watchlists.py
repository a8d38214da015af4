"""Watchlists in the operator pages: create, members in and out, rename, delete (people stay)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from enrollment.models import Person, Watchlist
from faceapp.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_create_a_watchlist_add_and_remove_members_and_delete_it(operator, cast):
    response = operator.post(reverse("ui:watchlists"), {"name": "VIP", "description": "guests"})
    vip = Watchlist.objects.get(name="VIP")
    assert response["Location"] == reverse("ui:watchlist", args=[vip.id])
    found = operator.get(reverse("ui:watchlist", args=[vip.id]), {"q": "biden"}).content.decode()
    assert "Joe Biden" in found and "Barack Obama" not in found
    operator.post(reverse("ui:watchlist-members", args=[vip.id]), {"add": [cast.biden.id, cast.obama.id]})
    assert set(vip.people.all()) == {cast.biden, cast.obama}
    operator.post(reverse("ui:watchlist-members", args=[vip.id]), {"remove": [cast.obama.id]})
    assert list(vip.people.all()) == [cast.biden]
    assert AuditEntry.objects.filter(action="watchlist.update", target_id=str(vip.id)).count() == 2
    page = operator.get(reverse("ui:watchlists")).content.decode()
    assert "VIP" in page and "guests" in page
    assert "Its people stay enrolled" in operator.get(reverse("ui:watchlist-delete", args=[vip.id])).content.decode()
    operator.post(reverse("ui:watchlist-delete", args=[vip.id]))
    assert not Watchlist.objects.filter(name="VIP").exists() and Person.objects.filter(id=cast.biden.id).exists()


def test_a_taken_watchlist_name_is_shown_at_the_field(operator, cast):
    response = operator.post(reverse("ui:watchlists"), {"name": "staff"})
    assert response.status_code == 400 and "already exists" in response.content.decode()


def test_people_list_searches_by_watchlist_name_and_sorts_by_faces(operator, cast):
    page = operator.get(reverse("ui:people"), {"q": "staf"}).content.decode()
    assert "Barack Obama" in page and "Joe Biden" not in page
    by_faces = operator.get(reverse("ui:people"), {"sort": "-faces"}).content.decode()
    assert by_faces.index("Barack Obama") < by_faces.index("Joe Biden")
    ascending = operator.get(reverse("ui:people"), {"sort": "faces"}).content.decode()
    assert ascending.index("Joe Biden") < ascending.index("Barack Obama")
    assert '<th aria-sort="ascending"><a href="?sort=-faces">Faces' in ascending and "sort=-faces" in ascending
