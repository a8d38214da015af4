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


def allow_local_outbound(settings, tmp_path_factory) -> None:
    """The outbound policy (videostreams/outbound.py) refuses loopback and local files by default; these tests
    talk to cameras and webhook receivers on 127.0.0.1 and play the committed clip and videos they write."""
    import os

    from tests.conftest import FIXTURES_DIR, SHARED_DATA_DIR

    settings.FACEAPP_CAMERA_ALLOWED_NETWORKS = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
    settings.FACEAPP_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.0/8,::1/128"
    settings.FACEAPP_VIDEO_FILE_ROOT = os.pathsep.join(str(p) for p in (FIXTURES_DIR, SHARED_DATA_DIR, tmp_path_factory.getbasetemp()))


@pytest.fixture(autouse=True)
def local_outbound_allowed(settings, tmp_path_factory):
    allow_local_outbound(settings, tmp_path_factory)
