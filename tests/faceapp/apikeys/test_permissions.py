"""Scopes read < enroll < admin (403 when too small), and the seed endpoints' FACEAPP_SEED_API_OPEN."""
import pytest

from tests.conftest import assert_error, client_with_key, upload

pytestmark = pytest.mark.django_db

PEOPLE = "/api/v1/people"


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
