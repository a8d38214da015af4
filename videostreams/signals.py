"""Biometric data must not linger: a deleted event takes its images with it, once the deletion commits, and a deleted
person takes their camera events with them.

As for enrolled faces (enrollment/signals.py), this runs on every deletion path: one event, a queryset,
the cascade from a deleted camera, the admin, the retention task.

And a camera or rule changed anywhere (API, admin, another node) is broadcast, so that every camera runner looks
again at once instead of at its next refresh (faceapp.broadcast; without Redis the refresh alone does it).
"""
import contextlib
import logging

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from enrollment.identity_edits import person_merged, person_unmerged
from enrollment.models import Person
from faceapp import broadcast

from .models import Camera, Event, EventNotPerson, Rule, WebhookDelivery

logger = logging.getLogger(__name__)


@receiver(pre_delete, sender=Person)
def erase_camera_data_of_person(sender, instance: Person, **kwargs):
    """A deleted person's events go with them (Event.person cascades; their files through delete_event_files), and so
    do the webhook deliveries about those events, whose payloads name the person (and one still pending must not
    be sent after the erasure)."""
    deliveries, _ = WebhookDelivery.objects.filter(event__person=instance).delete()
    events = Event.objects.filter(person=instance).count()
    if events or deliveries:
        logger.info("erasing person %s: %d camera events and %d webhook deliveries", instance.pk, events, deliveries)


@receiver(post_delete, sender=Event)
def delete_event_files(sender, instance: Event, **kwargs):
    names = instance.image_names()
    storage = instance.crop.storage

    def delete():
        for name in names:
            with contextlib.suppress(OSError):
                storage.delete(name)

    transaction.on_commit(delete)


@receiver(pre_delete, sender=Person)
def erase_events_of_person(sender, instance: Person, **kwargs):
    """Erasing a person erases the camera events named after them (rows, vectors, crops and frames), as their
    sightings go with them (enrollment.sightings): nothing of their face is left behind."""
    Event.objects.filter(person=instance).delete()


@receiver(person_merged)
def events_follow_a_merge(sender, source: Person, target: Person, **kwargs):
    """Merging people: the merged-away person's events become the kept person's (before the deletion erases them).
    Returns their ids, which the merge's audit entry keeps for an undo."""
    ids = [str(i) for i in Event.objects.filter(person=source).values_list("pk", flat=True)]
    Event.objects.filter(pk__in=ids).update(person=target)
    # An operator's "not this person" on an event of either holds for the merged person.
    not_ids = list(EventNotPerson.objects.filter(person=source).exclude(event__not_people__person=target).values_list("pk", flat=True))
    EventNotPerson.objects.filter(pk__in=not_ids).update(person=target)
    return {"camera_events": ids, "event_not_person": not_ids}


@receiver(person_unmerged)
def events_follow_an_undone_merge(sender, restored: Person, target: Person, moved: dict, **kwargs):
    """An undone merge: the events that came with the merged-away person go back to them (those still the kept one's)."""
    Event.objects.filter(pk__in=moved.get("camera_events", []), person=target).update(person=restored)
    EventNotPerson.objects.filter(pk__in=moved.get("event_not_person", []), person=target).update(person=restored)


@receiver(post_save, sender=Camera)
@receiver(post_delete, sender=Camera)
@receiver(post_save, sender=Rule)
@receiver(post_delete, sender=Rule)
@receiver(m2m_changed, sender=Camera.watchlists.through)
def cameras_changed(sender, **kwargs):
    if kwargs.get("update_fields") and set(kwargs["update_fields"]) <= STATUS_FIELDS:
        return  # the runner's own status writes
    transaction.on_commit(lambda: broadcast.publish("cameras"))


# What the runners write themselves (with queryset updates today, which send no signal; kept for model saves).
STATUS_FIELDS = {
    "status", "last_error", "last_frame_at", "frames_per_second", "faces_per_second", "frames_dropped", "reconnects",
    "status_updated_at", "lease_owner", "lease_expires_at",
}
