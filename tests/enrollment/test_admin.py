"""Watchlists in the admin go through enrollment.people: created, renamed and deleted with an audit entry each."""
import pytest

from enrollment.models import Watchlist
from faceapp.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_watchlists_are_created_changed_and_deleted_in_the_admin_and_audited(admin_client):
    response = admin_client.post("/admin/enrollment/watchlist/add/", {"name": "VIP", "description": "guests"})
    assert response.status_code == 302
    watchlist = Watchlist.objects.get(name="VIP")
    assert admin_client.get("/admin/enrollment/watchlist/").status_code == 200
    admin_client.post(f"/admin/enrollment/watchlist/{watchlist.pk}/change/", {"name": "VIPs", "description": "guests"})
    assert Watchlist.objects.get(pk=watchlist.pk).name == "VIPs"
    admin_client.post(f"/admin/enrollment/watchlist/{watchlist.pk}/delete/", {"post": "yes"})
    assert not Watchlist.objects.exists()
    actions = list(AuditEntry.objects.order_by("at", "id").values_list("action", "username"))
    assert actions == [("watchlist.create", "admin"), ("watchlist.update", "admin"), ("watchlist.delete", "admin")]
