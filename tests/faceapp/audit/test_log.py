"""Audit entries: what, when, and who (key, user, address, request id), from the API and the seed endpoints."""
import pytest

from faceapp.audit.models import AuditEntry
from tests.conftest import upload

pytestmark = pytest.mark.django_db


def test_an_enrolment_through_the_api_records_the_key_the_request_and_the_address(api_client, models_ready):
    response = api_client.post("/api/v1/people", {"name": "Obama", "image": upload("samples", "obama.jpg")}, format="multipart")
    person_id = response.json()["id"]
    created = AuditEntry.objects.get(action="person.create")
    assert created.target_type == "person" and created.target_id == person_id
    assert created.api_key is not None and created.api_key_name.startswith("test admin")
    assert created.request_id == response["X-Request-ID"] and created.remote_addr == "127.0.0.1"
    assert AuditEntry.objects.get(action="face.add").details == {"person_id": person_id}


def test_the_seed_endpoints_are_audited_too(client, models_ready):
    first = client.post("/api/v1/recognise_user", {"image": upload("samples", "obama.jpg")}).json()
    client.post("/api/v1/add_user", {"name": "Obama", "birthdate": "1961-08-04", "req_id": first["req_id"]}, content_type="application/json")
    client.post("/api/v1/recognise_user", {"image": upload("samples", "obama2.jpg")})
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "details__matched"))
    assert actions == [("recognise", False), ("person.create", None), ("face.add", None), ("recognise", True)]
    assert AuditEntry.objects.filter(api_key__isnull=False).count() == 0  # no key was used


def test_the_key_name_survives_the_key(api_key, models_ready):
    from faceapp.apikeys.models import ApiKey
    from tests.conftest import client_with_key

    client_with_key(api_key("admin", name="kiosk")).post("/api/v1/people", {"name": "X"}, format="json")
    ApiKey.objects.all().delete()
    entry = AuditEntry.objects.get(action="person.create")
    assert entry.api_key is None and entry.api_key_name.startswith("kiosk")
