"""API keys are stored only as a hash."""
import pytest

from faceapp.apikeys.models import ApiKey, hash_key

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_only_as_its_hash(api_key):
    raw = api_key("read")
    key = ApiKey.objects.get()
    assert raw.startswith(f"fa_{key.prefix}_") and len(raw) > 40
    assert key.key_hash == hash_key(raw) and raw not in {key.key_hash, key.prefix, key.name}
