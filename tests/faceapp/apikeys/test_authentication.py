"""Keys in X-API-Key or Authorization: Token; 401 in the envelope without a valid one; staff sessions; open endpoints."""
import pytest
from rest_framework.test import APIClient

from faceapp.apikeys.models import ApiKey
from tests.conftest import assert_error, client_with_key

pytestmark = pytest.mark.django_db

PEOPLE = "/api/v1/people"


def test_a_key_works_in_x_api_key_and_in_authorization_token(api_key):
    raw = api_key("read")
    assert client_with_key(raw).get(PEOPLE).status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert client.get(PEOPLE).status_code == 200


def test_last_used_is_recorded(api_key):
    client_with_key(api_key("read")).get(PEOPLE)
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_X_API_KEY": "fa_00000000_wrong"}, {"HTTP_X_API_KEY": ""}, {"HTTP_AUTHORIZATION": "Token"},
     {"HTTP_AUTHORIZATION": "Token a b"}, {"HTTP_AUTHORIZATION": "Token fa_nope"}, {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}],
)
def test_a_missing_or_wrong_key_is_a_401_in_the_error_envelope(client, headers):
    response = client.get(PEOPLE, **headers)
    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_revoked_key_is_a_401(api_key):
    raw = api_key("admin")
    ApiKey.objects.get().revoke()
    assert_error(client_with_key(raw).get(PEOPLE), 401, "unauthenticated")


def test_a_key_works_until_its_expiry_and_then_is_a_401_that_says_so(api_key, time_machine):
    import datetime as dt

    from django.utils import timezone

    raw = api_key("enroll")
    key = ApiKey.objects.get()
    key.expires_at = timezone.now() + dt.timedelta(days=30)
    key.save()
    assert client_with_key(raw).get(PEOPLE).status_code == 200
    time_machine.move_to(key.expires_at + dt.timedelta(seconds=1))
    body = assert_error(client_with_key(raw).get(PEOPLE), 401, "unauthenticated")
    assert "expired" in body["message"]
    assert not key.is_active and not ApiKey.objects.active().exists()
    assert client_with_key(raw).post(PEOPLE, {"name": "X"}, format="json").status_code == 401  # no write either


def test_a_staff_session_may_use_the_api_as_admin(admin_client):
    assert admin_client.get(PEOPLE).status_code == 200


def test_health_and_the_home_page_and_the_docs_need_no_key(client):
    assert client.get("/api/v1/health").status_code in (200, 503)
    assert client.get("/api/v1/health", HTTP_X_API_KEY="wrong").status_code in (200, 503)
    assert client.get("/").status_code in (200, 503)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
