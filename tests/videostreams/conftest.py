"""Fixtures of the videostreams tests."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import read_bytes


@pytest.fixture
def lin(models_ready, db):
    """Lin-Manuel Miranda enrolled from his sample photo."""
    from enrollment import services

    return services.enrol_person(
        name="Lin-Manuel Miranda", birthdate=dt.date(1980, 1, 16), image=read_bytes("samples", "lin-manuel-miranda.png"), image_name="lin-manuel-miranda.png"
    )
