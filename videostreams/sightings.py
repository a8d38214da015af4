"""A camera's ended track kept as a sighting (enrollment.sightings): its best shot's vector and crop, the camera,
the track's times and the name the vote gave it. The event stays the camera's record of the track; the sighting is
what searches of the past, unknown groups and corrections work on, with a retention of its own."""
from __future__ import annotations

import logging

from django.conf import settings

from enrollment import sightings
from enrollment.models import Sighting, SightingExclusion
from recognition.attributes import FaceAttributes

from .models import Event, EventNotPerson

logger = logging.getLogger(__name__)


def keep(event: Event, camera_name: str = "") -> Sighting | None:
    """Record the ended track's sighting; never fails the event (a failure is logged)."""
    if not settings.FACEAPP_CAMERA_SIGHTINGS or event.embedding is None or not event.crop:
        return None
    try:
        with event.crop.open("rb") as crop:
            crop_jpeg = crop.read()
        kept = sightings.record(
            embedding=event.embedding, embedding_model=event.embedding_model, crop_jpeg=crop_jpeg,
            source=Sighting.Source.CAMERA, seen_at=event.first_seen, until=event.last_seen,
            person=event.person if event.matched else None, similarity=event.similarity,
            verdict="named" if event.matched else "unknown", decision=event.votes or {},
            camera_id=event.camera_id, camera_name=camera_name, event_id=event.id, box=event.box,
            quality=event.quality, quality_details=event.quality_details,
            # The best shot's estimates, made with the camera's attribute settings (none where it asks for none).
            estimates=FaceAttributes(gender=event.gender, gender_score=event.gender_score, age=event.age, emotion=event.emotion),
        )
        # An operator's "not this person" on the track while it was open holds for its sighting too.
        SightingExclusion.objects.bulk_create([SightingExclusion(sighting=kept, person_id=p)
                                               for p in EventNotPerson.objects.filter(event=event).values_list("person_id", flat=True)])
        return kept
    except Exception:
        logger.exception("could not keep the sighting of event %s", event.id)
        return None
