"""Fixtures of the faceapp tests: a real Redis (127.0.0.1:6379 unless FACEAPP_TEST_REDIS_URL says otherwise)."""
from __future__ import annotations

import os
import uuid

import pytest

REDIS_URL = os.environ.get("FACEAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture
def redis_settings(settings):
    """faceapp configured for Redis, with a key prefix of its own (removed afterwards). Skips, saying why, where no
    Redis server runs (a fresh machine: Redis is optional; CI runs one)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"no Redis server at {REDIS_URL} ({exc}); Redis is optional, CI runs one")
    prefix = f"faceapp-test-{uuid.uuid4().hex[:10]}"
    settings.FACEAPP_REDIS_URL = REDIS_URL
    settings.FACEAPP_REDIS_PREFIX = prefix
    yield client
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
