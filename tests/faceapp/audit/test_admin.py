"""The audit log in the admin: listed and viewable, never added, changed or deleted."""
import pytest

from faceapp.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_the_admin_lists_entries_and_allows_no_change(admin_client, api_client):
    api_client.post("/api/v1/people", {"name": "Ada"}, format="json")
    entry = AuditEntry.objects.get()
    page = admin_client.get("/admin/audit/auditentry/")
    assert page.status_code == 200 and "person.create" in page.content.decode()
    assert admin_client.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 200  # viewable
    assert admin_client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {"action": "identify"}).status_code == 403
    assert admin_client.get("/admin/audit/auditentry/add/").status_code == 403
    assert admin_client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.get().action == "person.create"
