"""Fixtures of the operator page tests: a staff account, signed in."""
from __future__ import annotations

import re

import pytest


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("operator", password="a long pass phrase 1", is_staff=True)


@pytest.fixture
def operator(client, staff):
    client.force_login(staff)
    return client


def req_ids_on(page: str) -> list[str]:
    return re.findall(r'name="req_id" value="([0-9a-f]+)"', page)
