import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from recognition import arcface, embedders, pipeline
from recognition.types import Detection
from tests.conftest import load_rgb, read_bytes


@pytest.fixture
def arcface_enabled(settings):
    settings.FACEAPP_EMBEDDER = "arcface-mbf"
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True
    settings.FACEAPP_MATCH_THRESHOLD = settings.DEFAULT_MATCH_THRESHOLDS["arcface-mbf"]


def largest_face_vector(*parts):
    return pipeline.analyse_bytes(read_bytes(*parts)).largest_face().embedding


def test_facenet_ms1m_is_the_default_embedder_and_casia_facenet_stays_selectable(settings):
    assert embedders.active() is embedders.FACENET_MS1M
    assert embedders.model_id().startswith("facenet_ms1m:")
    settings.FACEAPP_EMBEDDER = "facenet"
    assert embedders.active() is embedders.FACENET and embedders.model_id().startswith("facenet:")


def test_arcface_is_refused_without_the_explicit_opt_in(settings):
    settings.FACEAPP_EMBEDDER = "arcface-mbf"
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = False
    with pytest.raises(ImproperlyConfigured, match="non-commercial"):
        embedders.active()
    with pytest.raises(SystemCheckError, match="recognition.E002"):
        call_command("check")


def test_a_server_refuses_to_warm_up_with_arcface_but_no_opt_in(settings):
    from recognition.warmup import warm_up

    settings.FACEAPP_EMBEDDER = "arcface-mbf"
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = False
    with pytest.raises(ImproperlyConfigured):
        warm_up()


def test_an_unknown_embedder_is_refused(settings):
    settings.FACEAPP_EMBEDDER = "vggface"
    with pytest.raises(ImproperlyConfigured, match="not one of"):
        embedders.active()


def test_switching_the_setting_changes_the_embedder_and_the_recorded_model(settings, models_ready, arcface_enabled, caplog):
    assert embedders.active() is embedders.ARCFACE_MBF
    assert embedders.model_id().startswith("arcface_mbf:")
    arc = largest_face_vector("samples", "obama.jpg")
    settings.FACEAPP_EMBEDDER = "facenet"
    facenet = largest_face_vector("samples", "obama.jpg")
    assert arc.shape == facenet.shape == (512,)
    assert abs(float(np.linalg.norm(arc)) - 1) < 1e-5
    # Different spaces: the same face gives unrelated vectors.
    assert abs(float(arc @ facenet)) < 0.3


def test_arcface_tells_the_same_person_from_another(models_ready, arcface_enabled, settings):
    obama, obama2, biden = (largest_face_vector("samples", name) for name in ("obama.jpg", "obama2.jpg", "biden.jpg"))
    threshold = settings.FACEAPP_MATCH_THRESHOLD
    assert float(obama @ obama2) >= threshold > float(obama @ biden)


def test_arcface_alignment_puts_the_landmarks_on_the_template(models_ready):
    image = load_rgb("samples", "obama.jpg")
    detection = pipeline.analyse_image(image, with_embeddings=False).largest_face().detection
    matrix = arcface.similarity_transform(np.asarray(detection.landmarks), arcface.TEMPLATE)
    moved = np.c_[np.asarray(detection.landmarks), np.ones(5)] @ matrix.T
    # A frontal face's five points fit the template to within a few pixels of the 112-pixel crop.
    assert np.abs(moved - arcface.TEMPLATE).max() < 6
    assert arcface.align_face(image, detection).shape == (112, 112, 3)


def test_similarity_transform_recovers_a_known_rotation_scale_and_shift():
    angle, scale, shift = np.radians(20), 1.7, np.array([5.0, -3.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = np.random.default_rng(0).uniform(0, 100, size=(5, 2))
    target = source @ (scale * rotation).T + shift
    matrix = arcface.similarity_transform(source, target)
    assert np.allclose(matrix[:, :2], scale * rotation, atol=1e-9) and np.allclose(matrix[:, 2], shift, atol=1e-9)


def test_arcface_batches_give_the_same_vectors_as_single_faces(models_ready):
    faces = np.random.default_rng(1).integers(0, 256, size=(5, 112, 112, 3), dtype=np.uint8)
    together = arcface.embed(faces, batch_size=5)
    alone = np.concatenate([arcface.embed(faces[i : i + 1]) for i in range(5)])
    assert np.abs(together - alone).max() < 1e-4


def test_the_recorded_model_id_follows_a_rebuilt_manifest(settings, tmp_path, models_ready):
    import json

    manifest = json.loads((settings.FACEAPP_MODEL_DIR / "manifest.json").read_text())
    settings.FACEAPP_MODEL_DIR = tmp_path
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    before = embedders.model_id()
    manifest["models"]["facenet_ms1m"]["sha256"] = "0" * 64
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    import os

    os.utime(tmp_path / "manifest.json", ns=(1, 1))  # a different modification time, whatever the clock's resolution
    assert before != embedders.model_id() == "facenet_ms1m:000000000000"
