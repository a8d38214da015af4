"""Re-embed the events' best shots with the active embedder (part of `manage.py reembed`)."""
from __future__ import annotations

from django.db.models import Q

from enrollment.reembedding import CannotPrepare, prepare_from_crop
from recognition import embedders, pipeline
from recognition.exceptions import FaceAppError

from .models import Event


def reembed_events(*, batch_size: int = 32) -> tuple[int, int]:
    """(events re-embedded, events whose crop gave no face: their vector is cleared)."""
    chosen = embedders.active()
    target = embedders.model_id(chosen)
    done = cleared = 0
    stale = Event.objects.filter(embedding__isnull=False).filter(~Q(embedding_model=target))
    while batch := list(stale.order_by("id")[:batch_size]):
        ready, inputs = [], []
        for event in batch:
            try:
                with event.crop.open("rb") as f:
                    inputs.append(prepare_from_crop(pipeline.decode(f.read()), chosen))
                ready.append(event)
            except (OSError, ValueError, FaceAppError, CannotPrepare):
                Event.objects.filter(id=event.id).update(embedding=None, embedding_model="")
                cleared += 1
        for event, vector in zip(ready, chosen.embed(inputs) if inputs else []):
            Event.objects.filter(id=event.id).update(embedding=vector.tolist(), embedding_model=target)
            done += 1
    return done, cleared
