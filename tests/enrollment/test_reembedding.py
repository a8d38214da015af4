import datetime as dt

import pytest
from django.core.management import call_command

from enrollment import services
from enrollment.reembedding import reembed_all
from enrollment.models import Face, PendingEnrollment
from recognition import embedders
from tests.conftest import read_bytes

pytestmark = pytest.mark.django_db


def switch_to_arcface(settings):
    settings.FACEAPP_EMBEDDER = "arcface-mbf"
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True
    settings.FACEAPP_MATCH_THRESHOLD = settings.DEFAULT_MATCH_THRESHOLDS["arcface-mbf"]


def enrol(name, *parts):
    return services.enrol_person(name=name, birthdate=dt.date(1961, 8, 4), image=read_bytes(*parts), image_name=parts[-1])


def test_vectors_of_another_model_are_never_compared_and_reembed_makes_search_work_again(settings, models_ready, capsys):
    obama = enrol("Barack Obama", "samples", "obama.jpg")
    assert services.recognise_user(read_bytes("samples", "obama2.jpg")).match.person == obama

    switch_to_arcface(settings)
    before = services.recognise_user(read_bytes("samples", "obama2.jpg"))
    assert before.match is None  # his FaceNet vector is in another space: not a candidate
    assert before.pending.embedding_model.startswith("arcface_mbf:")

    call_command("reembed", "--batch-size", "4")
    face = Face.objects.get(person=obama)
    assert face.embedding_model == embedders.model_id()
    after = services.recognise_user(read_bytes("samples", "obama2.jpg"))
    assert after.match is not None and after.match.person == obama
    assert "1 face(s) re-embedded, 0 failed" in capsys.readouterr().out


def test_reembed_uses_the_stored_crop_when_there_is_no_source_photo_and_goes_back_to_the_default_embedder(settings, models_ready):
    obama = enrol("Barack Obama", "samples", "obama.jpg")
    face = Face.objects.get(person=obama)
    original = list(face.embedding)
    face.source_image.delete(save=True)

    switch_to_arcface(settings)
    report = reembed_all()
    assert report.faces_done == 1 and not report.failed
    assert services.recognise_user(read_bytes("samples", "obama2.jpg")).match.person == obama

    settings.FACEAPP_EMBEDDER = "facenet-ms1m"
    settings.FACEAPP_MATCH_THRESHOLD = settings.DEFAULT_MATCH_THRESHOLDS["facenet-ms1m"]
    call_command("reembed")
    face.refresh_from_db()
    assert face.embedding_model.startswith("facenet_ms1m:")
    # The FaceNets take the stored crop itself: the vector comes back up to JPEG noise.
    assert float(sum(a * b for a, b in zip(face.embedding, original))) > 0.98
    assert services.recognise_user(read_bytes("samples", "obama2.jpg")).match.person == obama


def test_reembed_is_resumable_in_batches(settings, models_ready):
    people = [enrol(name, *parts) for name, parts in (("Barack Obama", ("samples", "obama.jpg")), ("Joe Biden", ("samples", "biden.jpg")))]
    switch_to_arcface(settings)
    call_command("reembed", "--limit", "1")
    target = embedders.model_id()
    assert Face.objects.filter(embedding_model=target).count() == 1
    call_command("reembed")
    assert Face.objects.filter(embedding_model=target).count() == len(people)


def test_reembed_converts_pending_enrolments_too(settings, models_ready):
    pending = services.recognise_user(read_bytes("samples", "obama.jpg")).pending
    switch_to_arcface(settings)
    call_command("reembed")
    pending = PendingEnrollment.objects.get(req_id=pending.req_id)
    assert pending.embedding_model == embedders.model_id()
