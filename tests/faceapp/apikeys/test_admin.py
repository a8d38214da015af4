"""Keys made in the admin: the raw key is shown once, after saving."""
import pytest

from faceapp.apikeys.models import ApiKey, hash_key
from tests.conftest import client_with_key

pytestmark = pytest.mark.django_db

PEOPLE = "/api/v1/people"


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
