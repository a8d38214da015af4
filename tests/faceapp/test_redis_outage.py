"""A Redis outage degrades clearly: requests that need the shared throttle counts get a 503, never pass uncounted;
readiness says Redis is not ready."""
import socket

import pytest

from tests.conftest import assert_error, client_with_key


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def redis_down(settings):
    url = closed_port_url()
    settings.FACEAPP_REDIS_URL = url
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                                   "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    return url


@pytest.mark.django_db
def test_a_throttled_request_is_a_503_when_redis_is_down(api_key, redis_down):
    client = client_with_key(api_key("read"))
    assert_error(client.get("/api/v1/watchlists"), 503, "redis_unavailable")


@pytest.mark.django_db
def test_readiness_names_redis_when_it_is_down(client, redis_down, settings, monkeypatch):
    from django_q.conf import Conf

    settings.FACEAPP_QUEUES_SEPARATE = True
    monkeypatch.setattr(Conf, "BROKER_CLASS", "faceapp.redis_broker.ReliableRedis")
    monkeypatch.setattr(Conf, "ORM", None)
    response = client.get("/api/v1/health/ready")
    body = response.json()
    assert response.status_code == 503 and body["error_code"] == "not_ready" and "redis" in body["message"]
    assert body["redis"]["ready"] is False and body["database"]["ready"] is True
    assert client.get("/api/v1/health/live").status_code == 200  # alive all the same: do not restart the node
