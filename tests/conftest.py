"""Shared test fixtures: the real photos in ../shared/data and the real models."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

DATA_DIR = (Path(__file__).resolve().parent.parent.parent / "shared" / "data").resolve()


def data_path(*parts: str) -> Path:
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test data {path} is not here (it lives in ../shared/data beside the repo)")
    return path


def load_rgb(*parts: str) -> np.ndarray:
    with Image.open(data_path(*parts)) as image:
        return np.asarray(image.convert("RGB"))


def read_bytes(*parts: str) -> bytes:
    return data_path(*parts).read_bytes()


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

    root = data_path("lfw-dev")
    result: dict[str, list[tuple[str, np.ndarray]]] = {}
    for person_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for photo in sorted(person_dir.glob("*.jpg")):
            face = pipeline.analyse_bytes(photo.read_bytes()).largest_face()
            if face is not None:
                result.setdefault(person_dir.name, []).append((photo.name, face.embedding))
    return result
