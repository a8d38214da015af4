"""The committed hostile-image corpus (tests/fixtures/hostile, made by its make_hostile.py): each file, sent to the
API, gets its documented answer, and the refusals come from the header, at once, without decoding."""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"


def corpus():
    spec = importlib.util.spec_from_file_location("make_hostile", HOSTILE / "make_hostile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = corpus()


def test_the_committed_corpus_is_what_the_script_makes_and_every_file_is_small():
    built = MAKE.build()
    assert set(built) == set(MAKE.EXPECTED)
    for name, data in built.items():
        path = HOSTILE / name
        assert path.exists(), f"{name} is missing: run tests/fixtures/hostile/make_hostile.py"
        assert len(path.read_bytes()) < 200_000
    # Deterministic formats are compared byte for byte (encoders of JPEG/WebP may differ between library builds).
    for name in ("bomb-20000x20000.png", "strip-39000000x1.png", "polyglot-gif-php.gif", "eps-ghostscript.eps", "text-named.jpg"):
        assert (HOSTILE / name).read_bytes() == built[name], name


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MAKE.EXPECTED))
def test_each_hostile_image_gets_its_documented_answer(api_client, models_ready, name):
    status, error_code, faces = MAKE.EXPECTED[name]
    data = (HOSTILE / name).read_bytes()
    started = time.monotonic()
    response = api_client.post("/api/v1/detect", {"image": SimpleUploadedFile(name, data)}, format="multipart")
    seconds = time.monotonic() - started
    body = response.json()
    assert response.status_code == status, body
    if error_code is not None:
        assert body["error_code"] == error_code and body["requestId"]
        if status == 413:
            assert seconds < 1.0, f"{name}: refused after {seconds:.2f} s (it must be refused from its header)"
    else:
        assert len(body["faces"]) == faces, body
