"""API keys: hashed storage, the two headers, scopes, revocation, the command and the admin, the seed setting."""
import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from faceapp.apikeys.models import ApiKey, hash_key
from tests.conftest import assert_error, client_with_key, upload

pytestmark = pytest.mark.django_db

PEOPLE = "/api/v1/people"


def test_a_key_is_stored_only_as_its_hash(api_key):
    raw = api_key("read")
    key = ApiKey.objects.get()
    assert raw.startswith(f"fa_{key.prefix}_") and len(raw) > 40
    assert key.key_hash == hash_key(raw) and raw not in {key.key_hash, key.prefix, key.name}


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


@pytest.mark.parametrize(
    "scope, method, path, allowed",
    [
        ("read", "get", PEOPLE, True),
        ("read", "post", PEOPLE, False),
        ("enroll", "post", PEOPLE, True),
        ("enroll", "post", "/api/v1/watchlists", False),
        ("admin", "post", "/api/v1/watchlists", True),
        ("read", "get", "/api/v1/watchlists", True),
    ],
)
def test_scopes_include_the_ones_below_and_nothing_above(api_key, scope, method, path, allowed):
    response = getattr(client_with_key(api_key(scope)), method)(path, {"name": "X"} if method == "post" else None, format="json")
    if allowed:
        assert response.status_code in (200, 201), response.json()
    else:
        body = assert_error(response, 403, "forbidden")
        assert f"'{scope}'" in body["message"]


def test_health_and_the_home_page_and_the_docs_need_no_key(client):
    assert client.get("/api/v1/health").status_code in (200, 503)
    assert client.get("/api/v1/health", HTTP_X_API_KEY="wrong").status_code in (200, 503)
    assert client.get("/").status_code in (200, 503)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_create_api_key_prints_the_key_once_and_stores_its_hash():
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "door controller", "--scope", "enroll", "--rate", "100/min", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    key = ApiKey.objects.get()
    assert key.name == "door controller" and key.scope == "enroll" and key.rate_limit == "100/min"
    assert key.key_hash == hash_key(raw) and "shown only once" in err.getvalue()
    assert client_with_key(raw).post(PEOPLE, {"name": "X"}, format="json").status_code == 201


def test_create_api_key_refuses_a_bad_scope_or_rate():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_api_key", "x", "--scope", "root", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError):
        call_command("create_api_key", "x", "--rate", "lots", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiKey.objects.exists()


def test_a_key_made_in_the_admin_is_shown_once_and_works(admin_client):
    response = admin_client.post("/admin/apikeys/apikey/add/", {"name": "kiosk", "scope": "read", "rate_limit": ""}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    raw = next(word for text in shown for word in text.split() if word.startswith("fa_"))
    key = ApiKey.objects.get(name="kiosk")
    assert key.key_hash == hash_key(raw) and key.created_by is not None
    assert client_with_key(raw).get(PEOPLE).status_code == 200
    page = admin_client.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert raw not in page and key.prefix in page


def test_a_staff_session_may_use_the_api_as_admin(admin_client):
    assert admin_client.get(PEOPLE).status_code == 200


def test_the_seed_endpoints_are_open_by_default_and_accept_keys(client, api_key, models_ready):
    assert client.post("/api/v1/recognise_user", {"image": upload("samples", "obama.jpg")}).status_code == 200
    keyed = client.post("/api/v1/recognise_user", {"image": upload("samples", "obama.jpg")}, HTTP_X_API_KEY=api_key("read"))
    assert keyed.status_code == 200
    assert_error(client.post("/api/v1/recognise_user", {"image": upload("samples", "obama.jpg")}, HTTP_X_API_KEY="wrong"), 401)


def test_with_the_seed_api_closed_the_seed_endpoints_need_a_key_with_the_right_scope(client, api_key, settings, models_ready):
    settings.FACEAPP_SEED_API_OPEN = False
    photo = lambda: upload("samples", "obama.jpg")  # noqa: E731
    assert_error(client.post("/api/v1/recognise_user", {"image": photo()}), 401, "unauthenticated")
    assert_error(client.post("/api/v1/add_user", {"name": "X", "birthdate": "2000-01-01", "image": photo()}), 401, "unauthenticated")
    reader = api_key("read")
    assert client.post("/api/v1/recognise_user", {"image": photo()}, HTTP_X_API_KEY=reader).status_code == 200
    assert_error(client.post("/api/v1/add_user", {"name": "X", "birthdate": "2000-01-01", "image": photo()}, HTTP_X_API_KEY=reader), 403, "forbidden")
    added = client.post("/api/v1/add_user", {"name": "X", "birthdate": "2000-01-01", "image": photo()}, HTTP_X_API_KEY=api_key("enroll"))
    assert added.status_code == 201, added.json()
