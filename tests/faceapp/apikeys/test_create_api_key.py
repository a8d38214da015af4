"""manage.py create_api_key prints the key once and stores its hash."""
import io

import pytest
from django.core.management import call_command

from faceapp.apikeys.models import ApiKey, hash_key
from tests.conftest import client_with_key

pytestmark = pytest.mark.django_db

PEOPLE = "/api/v1/people"


def test_create_api_key_prints_the_key_once_and_stores_its_hash():
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "door controller", "--scope", "enroll", "--rate", "100/min", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    key = ApiKey.objects.get()
    assert key.name == "door controller" and key.scope == "enroll" and key.rate_limit == "100/min"
    assert key.key_hash == hash_key(raw) and "shown only once" in err.getvalue()
    assert client_with_key(raw).post(PEOPLE, {"name": "X"}, format="json").status_code == 201


def test_create_api_key_can_give_the_key_an_expiry():
    import datetime as dt

    from django.core.management.base import CommandError
    from django.utils import timezone

    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "integrator", "--expires-in-days", "90", stdout=out, stderr=err)
    key = ApiKey.objects.get()
    assert abs(key.expires_at - (timezone.now() + dt.timedelta(days=90))) < dt.timedelta(minutes=1)
    assert "expires" in err.getvalue() and key.is_active
    with pytest.raises(CommandError):
        call_command("create_api_key", "x", "--expires-in-days", "0", stdout=io.StringIO(), stderr=io.StringIO())


def test_create_api_key_refuses_a_bad_scope_or_rate():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_api_key", "x", "--scope", "root", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError):
        call_command("create_api_key", "x", "--rate", "lots", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiKey.objects.exists()
