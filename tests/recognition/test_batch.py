from concurrent.futures import ThreadPoolExecutor

import numpy as np

from recognition import batch, pipeline
from recognition.exceptions import InvalidImage
from tests.conftest import read_bytes


def test_analyse_many_gives_each_photo_what_analyse_bytes_gives_in_order_with_errors_kept(models_ready):
    photos = [read_bytes("samples", "obama.jpg"), b"not an image", read_bytes("nonfaces", "cat.jpg"), read_bytes("samples", "obama_and_biden.jpg")]
    with ThreadPoolExecutor(2) as executor:
        results = batch.analyse_many(photos, executor=executor)
    assert isinstance(results[1].error, InvalidImage) and results[1].faces == []
    assert results[2].error is None and results[2].faces_detected == 0
    for data, result in zip([photos[0], photos[3]], [results[0], results[3]]):
        expected = pipeline.analyse_bytes(data)
        assert result.faces_detected == len(expected.faces) == len(result.faces)
        for got, want in zip(result.faces, expected.faces):
            assert got.detection == want.detection
            np.testing.assert_allclose(got.embedding, want.embedding, atol=1e-5)


def test_largest_only_embeds_one_face_per_photo_and_still_counts_the_others(models_ready):
    [result] = batch.analyse_many([read_bytes("samples", "obama_and_biden.jpg")], largest_only=True)
    expected = pipeline.analyse_bytes(read_bytes("samples", "obama_and_biden.jpg")).largest_face()
    assert result.faces_detected >= 2 and len(result.faces) == 1
    np.testing.assert_allclose(result.faces[0].embedding, expected.embedding, atol=1e-5)


def test_analyse_many_embeds_with_the_active_embedder(models_ready, settings):
    settings.FACEAPP_EMBEDDER = "arcface-mbf"
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True
    photos = [read_bytes("samples", "obama_and_biden.jpg"), read_bytes("samples", "obama.jpg")]
    results = batch.analyse_many(photos)
    for data, result in zip(photos, results):
        expected = pipeline.analyse_bytes(data)
        for got, want in zip(result.faces, expected.faces):
            np.testing.assert_allclose(got.embedding, want.embedding, atol=1e-5)
