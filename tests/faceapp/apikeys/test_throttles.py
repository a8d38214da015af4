import pytest

from tests.conftest import assert_error, client_with_key

pytestmark = pytest.mark.django_db

PEOPLE = "/api/v1/people"


def test_requests_over_the_rate_are_a_429_with_retry_after(api_key, settings):
    settings.FACEAPP_THROTTLE_RATE = "3/min"
    client = client_with_key(api_key("read"))
    assert [client.get(PEOPLE).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(PEOPLE)
    assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 61


def test_each_key_is_counted_separately(api_key, settings):
    settings.FACEAPP_THROTTLE_RATE = "2/min"
    first, second = client_with_key(api_key("read")), client_with_key(api_key("read"))
    for _ in range(2):
        first.get(PEOPLE)
    assert first.get(PEOPLE).status_code == 429
    assert second.get(PEOPLE).status_code == 200


def test_a_key_may_have_its_own_rate(api_key, settings):
    settings.FACEAPP_THROTTLE_RATE = "100/min"
    client = client_with_key(api_key("read", rate_limit="1/min"))
    assert client.get(PEOPLE).status_code == 200
    assert_error(client.get(PEOPLE), 429, "throttled")


def test_anonymous_seed_requests_are_throttled_only_when_a_rate_is_set(client, settings):
    url = "/api/v1/recognise_user"
    assert all(client.post(url, {}).status_code == 400 for _ in range(5))
    settings.FACEAPP_THROTTLE_ANON_RATE = "2/min"
    assert [client.post(url, {}).status_code for _ in range(3)] == [400, 400, 429]


def test_health_is_never_throttled(client, settings):
    settings.FACEAPP_THROTTLE_ANON_RATE = "1/min"
    assert all(client.get("/api/v1/health").status_code in (200, 503) for _ in range(3))
