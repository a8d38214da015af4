import io

from django.core.management import call_command

from tests.videostreams.conftest import clip_path
from recognition import embedders
from videostreams.models import Event


def test_reembed_moves_the_events_vectors_to_the_active_model_too(obama, settings):
    call_command("process_video", clip_path(), "--camera", "lobby", "--fps", "2", stdout=io.StringIO())
    assert Event.objects.filter(embedding__isnull=False).exists()

    settings.FACEAPP_EMBEDDER = "arcface-mbf"
    settings.FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS = True
    out = io.StringIO()
    call_command("reembed", stdout=out)
    target = embedders.model_id()
    stale = Event.objects.filter(embedding__isnull=False).exclude(embedding_model=target)
    assert not stale.exists(), out.getvalue()
    assert Event.objects.filter(embedding_model=target).exists()
    assert "Events:" in out.getvalue()
