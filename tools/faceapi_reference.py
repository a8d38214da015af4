"""Development-time reference run of face-api's age/gender net, to check faceapp's ONNX conversion
(recognition/model_build/faceapi_onnx.py). Never needed to build or run faceapp (no Node.js on a user's machine).

Run once, from the repository root, after `make setup` (the models are built):

    (cd tools/faceapi_reference && npm ci)     # @vladmandic/face-api 1.7.15 + @tensorflow/tfjs 4.22.0 (pure-JS CPU)
    .venv/bin/python tools/faceapi_reference.py

For four real faces (../shared/data samples, detected by faceapp's MTCNN) it cuts the model's 112×112 uint8 RGB
square with faceapp's own preparation (recognition/attribute_models.py), runs face-api itself in Node
(`faceapi_reference/run.mjs`: face-api's weight loader, its toNetInput/normalisation and its AgeGenderNet code on
TF.js's CPU backend) and faceapp's ONNX model on faceapp's scaling of the same crops, prints the max abs
difference, and writes tests/fixtures/faceapi_reference.npz: the crops and face-api's outputs, which
tests/recognition/test_faceapi_build.py compares with the ONNX model on every test run. The lock file pins
face-api's tarball by the same SHA-512 the build pins, so both read the same weights.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceapp.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from recognition import attribute_models, images, pipeline  # noqa: E402
from recognition.model_build import faceapi_onnx  # noqa: E402

PHOTOS = ["samples/obama.jpg", "samples/rose_leslie_img1.jpg", "samples/cameraman.jpg", "samples/biden.jpg"]
FIXTURE = ROOT / "tests" / "fixtures" / "faceapi_reference.npz"
NODE_DIR = ROOT / "tools" / "faceapi_reference"
MODEL = "faceapi-age-gender"


def main() -> None:
    lock = json.loads((NODE_DIR / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/@vladmandic/face-api"]
    if locked["integrity"] != faceapi_onnx.PACKAGE.integrity or locked["version"] != faceapi_onnx.PACKAGE.version:
        sys.exit("tools/faceapi_reference/package-lock.json does not pin the tarball the build pins")
    model = attribute_models.MODELS[MODEL]
    data = ROOT.parent / "shared" / "data"
    crops = []
    for photo in PHOTOS:
        image = images.decode((data / photo).read_bytes(), max_bytes=10**8, max_pixels=10**8)
        detection = max(pipeline.detect(image, min_face_size=20, min_score=0.9), key=lambda d: d.area)
        crops.append(attribute_models.model_crop(attribute_models.face_region(image, detection), model))
    crops = np.stack(crops).astype(np.uint8)
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "crops.bin").write_bytes(crops.tobytes())
        subprocess.run(["node", str(NODE_DIR / "run.mjs"), str(work / "crops.bin"), str(len(crops)), str(work)],
                       check=True, cwd=NODE_DIR)
        info = json.loads((work / "out.json").read_text())
        age = np.fromfile(work / "age.bin", dtype="<f4").reshape(len(crops), 1)  # face-api's age is [N]
        gender = np.fromfile(work / "gender.bin", dtype="<f4").reshape(info["gender"])
    session = ort.InferenceSession(str(Path(settings.FACEAPP_MODEL_DIR) / f"{model.onnx}.onnx"),
                                   providers=["CPUExecutionProvider"])
    ours_age, ours_gender = session.run(["age", "gender"], {"input": attribute_models.scale_pixels(crops, model)})
    print(f"face-api {info['faceapi']}, TF.js {info['tfjs']} ({info['backend']} backend)")
    print(f"ages (face-api): {np.round(age.ravel(), 2).tolist()}; P(male): {np.round(gender[:, 0], 4).tolist()}")
    print(f"max abs difference ONNX vs face-api: age {np.abs(ours_age - age).max():.2e}, "
          f"gender {np.abs(ours_gender - gender).max():.2e}")
    np.savez_compressed(FIXTURE, photos=np.array(PHOTOS), crops=crops, age=age, gender=gender,
                        versions=np.array(f"face-api {info['faceapi']}, tfjs {info['tfjs']} {info['backend']}"))
    print(f"wrote {FIXTURE.relative_to(ROOT)} ({FIXTURE.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
