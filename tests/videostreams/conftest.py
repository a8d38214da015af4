"""Fixtures of the videostreams tests."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import data_path, read_bytes

# The committed clip (tests/fixtures/README.md): 640x360, 25 fps, 8 s. A stranger (the astronaut) from 0 to 2 s,
# Barack Obama (from obama3.jpg, a photo not used for his enrolment) from 2.4 to 6 s, two strangers from 6.4 s.
CLIP = ("video", "walkby.mp4")


def clip_path() -> str:
    return str(data_path(*CLIP))


@pytest.fixture
def obama(models_ready, db):
    """Barack Obama enrolled from obama.jpg (the clip shows him from another photo)."""
    from enrollment import services

    return services.enrol_person(
        name="Barack Obama", birthdate=dt.date(1961, 8, 4), image=read_bytes("samples", "obama.jpg"), image_name="obama.jpg"
    )
