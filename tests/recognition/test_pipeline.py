"""The whole recognition pipeline (recognition.pipeline) on real photos and the real models.

decode → detect (on a copy no longer than FACEAPP_DETECT_MAX_SIDE) → crop → quality → embed.
"""
from __future__ import annotations

import numpy as np
import pytest

from recognition import pipeline
from tests.conftest import FIXTURES_DIR, read_bytes

pytestmark = pytest.mark.usefixtures("models_ready")

NONFACES = sorted(p.name for p in (FIXTURES_DIR / "nonfaces").glob("*.jpg"))


def analyse(name: str, **options) -> pipeline.Analysis:
    return pipeline.analyse_bytes(read_bytes("samples", name), **options)


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def test_obama_photo_gives_one_face_with_a_unit_512_embedding_and_quality_fields():
    analysis = analyse("obama.jpg")

    assert (analysis.width, analysis.height) == (910, 1137)
    assert len(analysis.faces) == 1  # the raw cascade's weak false positive (~0.88) is filtered out
    face = analysis.faces[0]
    assert face.embedding.shape == (512,)
    assert face.embedding.dtype == np.float32
    assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-5)
    assert face.crop.shape == (160, 160, 3) and face.crop.dtype == np.uint8
    q = face.quality.as_dict()
    assert set(q) == {"detection_score", "face_size", "sharpness", "yaw", "pitch", "roll"}
    assert q["detection_score"] >= 0.95
    assert 200 <= q["face_size"] <= 300  # the face box is about 250 px wide
    assert q["sharpness"] > 0
    assert abs(q["yaw"]) < 30 and abs(q["roll"]) < 15  # a roughly frontal, upright portrait
    assert set(analysis.timings_ms) >= {"decode", "detect", "crop", "embed"}


def test_two_photos_of_obama_match_and_obama_and_biden_do_not(settings, models_ready):
    from recognition import calibration, embedders

    obama = analyse("obama.jpg").largest_face().embedding
    obama2 = analyse("obama2.jpg").largest_face().embedding
    biden = analyse("biden.jpg").largest_face().embedding
    # The 1:1 threshold of the balanced preset (one comparison), from the calibration shipped with the model.
    tail = calibration.ImpostorTail.from_dict(models_ready["models"][embedders.active().model]["calibration"])
    threshold = calibration.threshold_for(tail, 0.01, 1)

    same = float(obama @ obama2)
    different = float(obama @ biden)

    assert same >= threshold, f"obama–obama2 cosine {same:.3f} below the match threshold {threshold}"
    assert different < threshold, f"obama–biden cosine {different:.3f} reaches the match threshold {threshold}"


def test_large_photo_is_downscaled_for_detection_yet_its_face_box_matches_the_smaller_copy(settings):
    settings.FACEAPP_DETECT_MAX_SIDE = 1280
    large = analyse("obama-1080p.jpg", with_embeddings=False)
    small = analyse("obama-480p.jpg", with_embeddings=False)
    assert max(large.width, large.height) > settings.FACEAPP_DETECT_MAX_SIDE  # so detection ran on a copy
    assert max(small.width, small.height) <= settings.FACEAPP_DETECT_MAX_SIDE

    sx, sy = large.width / small.width, large.height / small.height
    x1, y1, x2, y2 = small.largest_face().detection.box
    expected = (x1 * sx, y1 * sy, x2 * sx, y2 * sy)

    found = large.largest_face().detection.box
    assert iou(found, expected) >= 0.8, (found, expected)
    # boxes and landmarks come back in the full-resolution image's coordinates
    assert all(0 <= x <= large.width and 0 <= y <= large.height for x, y in large.largest_face().detection.landmarks)


@pytest.mark.parametrize("max_side", [400, 140])
def test_face_stays_findable_when_a_small_detect_max_side_forces_a_strong_downscale(settings, max_side):
    full = analyse("obama-1080p.jpg", with_embeddings=False).largest_face().detection
    settings.FACEAPP_DETECT_MAX_SIDE = max_side

    analysis = analyse("obama-1080p.jpg", with_embeddings=False)

    assert len(analysis.faces) == 1
    face = analysis.faces[0].detection
    scale = max_side / max(analysis.width, analysis.height)
    if max_side == 140:
        # the face is ~17 px on the detector's copy, below FACEAPP_MIN_FACE_SIZE: found only because the
        # minimum face size is scaled down with the image
        assert full.size * scale < settings.FACEAPP_MIN_FACE_SIZE
    # localisation on a tiny copy is coarser, but it is the same face
    assert iou(face.box, full.box) >= 0.7, (face.box, full.box)
    assert analysis.faces[0].crop.shape == (160, 160, 3)  # cut from the full-resolution photo


def test_the_committed_nonfaces_are_there():
    assert len(NONFACES) >= 10, f"tests/fixtures/data/nonfaces holds {len(NONFACES)} photos"


@pytest.mark.parametrize("name", NONFACES)
def test_photo_without_a_human_face_gives_no_faces(name):
    analysis = pipeline.analyse_bytes(read_bytes("nonfaces", name), with_embeddings=False)

    assert analysis.faces == [], [(f.detection.box, f.detection.score) for f in analysis.faces]


def test_max_faces_one_returns_the_largest_face_of_a_group_photo():
    everyone = analyse("obama_and_biden.jpg", with_embeddings=False)
    assert len(everyone.faces) >= 2

    only = analyse("obama_and_biden.jpg", max_faces=1)

    assert len(only.faces) == 1
    largest = max(everyone.faces, key=lambda f: f.detection.area)
    assert only.faces[0].detection.box == pytest.approx(largest.detection.box)
    assert only.largest_face() is only.faces[0]


def test_faces_are_sorted_largest_first():
    analysis = analyse("obama_and_biden.jpg", with_embeddings=False)

    areas = [face.detection.area for face in analysis.faces]
    assert len(areas) == 3  # Obama, Biden and a child at the lower right
    assert areas == sorted(areas, reverse=True)
    assert analysis.largest_face() is analysis.faces[0]


def test_max_faces_keeps_the_largest_faces_and_still_counts_every_face(models_ready):
    from recognition import pipeline
    from tests.conftest import read_bytes

    everything = pipeline.analyse_bytes(read_bytes("samples", "obama_and_biden.jpg"))
    largest = pipeline.analyse_bytes(read_bytes("samples", "obama_and_biden.jpg"), max_faces=1)
    assert everything.faces_detected == len(everything.faces) == 3
    assert largest.faces_detected == 3 and len(largest.faces) == 1
    assert largest.faces[0].detection == everything.faces[0].detection
    assert float(largest.faces[0].embedding @ everything.faces[0].embedding) > 0.9999


def test_detect_many_gives_what_detect_gives_photo_by_photo(models_ready):
    from recognition import pipeline
    from tests.conftest import load_rgb

    photos = [load_rgb("samples", n) for n in ("obama.jpg", "two_people.jpg", "obama-1080p.jpg", "obama-240p.jpg")]
    batched = pipeline.detect_many(photos, min_face_size=20, min_score=0.95)
    assert [len(b) for b in batched] == [1, 2, 1, 1]
    for photo, found in zip(photos, batched):
        single = pipeline.detect(photo, min_face_size=20, min_score=0.95)
        assert [d.box for d in sorted(found, key=lambda d: d.box)] == [d.box for d in sorted(single, key=lambda d: d.box)]
