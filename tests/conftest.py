"""Shared test fixtures: the committed photos and clip in tests/fixtures/data, the real models, and (optional)
the larger data set in ../shared/data for the broader tests."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Committed with the repository (tests/fixtures/README.md: where each file comes from, its licence): the core
# suite needs nothing else, so a missing file here is a broken checkout and fails the test.
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures" / "data"
# lfw-dev and the other shared photos: broader tests (accuracy, imports at scale) that skip, saying so, without it.
SHARED_DATA_DIR = Path(
    os.environ.get("FACEAPP_TEST_SHARED_DATA") or Path(__file__).resolve().parent.parent.parent / "shared" / "data"
).resolve()


def data_path(*parts: str) -> Path:
    """A committed test file (samples/, nonfaces/, video/): it must be there."""
    path = FIXTURES_DIR.joinpath(*parts)
    assert path.exists(), f"test fixture {path} is missing from the checkout (tests/fixtures/README.md lists them)"
    return path


def shared_data_path(*parts: str) -> Path:
    """A file of the optional shared data set (../shared/data, or FACEAPP_TEST_SHARED_DATA): skip without it."""
    path = SHARED_DATA_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data {path} is not here (../shared/data beside the repo; the core suite does not need it)")
    return path


# A folder-per-person photo collection made of the committed photos, for the import tests: 13 photos of 5 folders,
# 4 of them without a face (so 9 importable faces of 4 people; "Nobody_Here" holds only a photo without a face).
PEOPLE_PHOTOS = {
    "Barack_Obama": ("samples/obama.jpg", "samples/obama2.jpg", "samples/obama3.jpg", "samples/obama-480p.jpg", "samples/obama_partial_face.jpg"),
    "Joe_Biden": ("samples/biden.jpg", "samples/biden_biden2.jpg", "nonfaces/text.jpg"),
    "Eileen_Collins": ("samples/astronaut.jpg", "nonfaces/rocket.jpg"),
    "Nobody_Here": ("nonfaces/cat.jpg",),
    "The_Cameraman": ("samples/cameraman.jpg", "nonfaces/coffee.jpg"),
}
PEOPLE_WITHOUT_FACE = {"text.jpg", "rocket.jpg", "cat.jpg", "coffee.jpg"}


def people_folder(root: Path, people=tuple(PEOPLE_PHOTOS)) -> Path:
    """Copy the committed photos of `people` into root/<Person_Name>/ (a folder per person, as import_faces reads)."""
    import shutil

    for person in people:
        (root / person).mkdir(parents=True, exist_ok=True)
        for relative in PEOPLE_PHOTOS[person]:
            shutil.copy(data_path(*relative.split("/")), root / person / Path(relative).name)
    return root


def photo_path(*parts: str) -> Path:
    """A committed photo when there is one, else one of the shared data set (the test skips without it)."""
    committed = FIXTURES_DIR.joinpath(*parts)
    return committed if committed.exists() else shared_data_path(*parts)


def load_rgb(*parts: str) -> np.ndarray:
    with Image.open(photo_path(*parts)) as image:
        return np.asarray(image.convert("RGB"))


def read_bytes(*parts: str) -> bytes:
    return photo_path(*parts).read_bytes()


@pytest.fixture(scope="session")
def models_ready():
    """The real models must be built (make test does it); failing loudly beats skipping silently."""
    from django.conf import settings

    from recognition.manifest import check_models

    status = check_models(settings.FACEAPP_MODEL_DIR)
    assert status.ready, f"models not built ({'; '.join(status.problems)}): run `python manage.py build_models`"
    return status.manifest


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Each test writes its crops and thumbnails into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(*parts: str, name: str | None = None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name or parts[-1], read_bytes(*parts), content_type="image/jpeg")


def assert_error(response, status: int, error_code=None) -> dict:
    """The response is an error in the one envelope, with the request id of its header."""
    body = response.json()
    assert response.status_code == status, body
    assert body["status"] == "error"
    assert {"error_code", "message", "requestId"} <= set(body)
    assert body["requestId"] == response["X-Request-ID"]
    if error_code is not None:
        assert body["error_code"] == error_code, body
    return body


@pytest.fixture(scope="session")
def lfw_embeddings(models_ready):
    """{person: [(file name, 512-d vector)]} for every lfw-dev photo with a face (largest face), computed once."""
    from recognition import pipeline

    root = shared_data_path("lfw-dev")
    result: dict[str, list[tuple[str, np.ndarray]]] = {}
    for person_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for photo in sorted(person_dir.glob("*.jpg")):
            face = pipeline.analyse_bytes(photo.read_bytes()).largest_face()
            if face is not None:
                result.setdefault(person_dir.name, []).append((photo.name, face.embedding))
    return result


# --- API keys and a ready client (the integrator API needs a key on every endpoint but health) ---


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    """Throttle counts live in Django's cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_key(db):
    """Factory: api_key(scope="admin", name=..., rate_limit="") -> the raw key string (send it as X-API-Key)."""
    from faceapp.apikeys.models import ApiKey

    def make(scope: str = "admin", *, name: str | None = None, rate_limit: str = "") -> str:
        _, raw = ApiKey.issue(name=name or f"test {scope}", scope=scope, rate_limit=rate_limit)
        return raw

    return make


def client_with_key(raw_key: str):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


@pytest.fixture
def api_client(api_key):
    """A DRF APIClient sending an admin-scope key in X-API-Key."""
    return client_with_key(api_key("admin"))


@pytest.fixture
def cast(db, models_ready):
    """A small named cast: keys of each scope and two enrolled people (Obama with two faces, Biden with one)
    in a 'staff' watchlist. Built through the real enrolment path, with the real models."""
    from types import SimpleNamespace

    from enrollment import people, services
    from faceapp.apikeys.models import ApiKey

    keys = {scope: ApiKey.issue(name=f"cast {scope}", scope=scope)[1] for scope in ("read", "enroll", "admin")}
    staff = people.create_watchlist(name="staff")
    obama = services.enrol_person(name="Barack Obama", birthdate=None, email="barack@example.org",
                                  image=read_bytes("samples", "obama.jpg"), image_name="obama.jpg", watchlists=[staff])
    services.add_face(obama, services.sample_from_image(read_bytes("samples", "obama2.jpg"), source_name="obama2.jpg"))
    biden = services.enrol_person(name="Joe Biden", birthdate=None, image=read_bytes("samples", "biden.jpg"), image_name="biden.jpg")
    return SimpleNamespace(
        keys=keys,
        read=client_with_key(keys["read"]),
        enroll=client_with_key(keys["enroll"]),
        admin=client_with_key(keys["admin"]),
        staff=staff,
        obama=obama,
        biden=biden,
    )


@pytest.fixture(autouse=True)
def fresh_decision_cache():
    """Gallery sizes and calibrations are cached per process for a few seconds: each test starts without."""
    from enrollment import decision

    decision.forget_cached()
    yield
    decision.forget_cached()
