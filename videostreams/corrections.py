"""An operator's "not this person" on a camera event, also while its track is still followed by the camera runner.

The correction is kept per event (EventNotPerson): the runner reads it at each later decision of the open track and
does not name the person again (videostreams.processing); when the track ends, the sighting kept of it carries the
exclusion (videostreams.sightings), so that neither a sweep nor adding an unknown group names the face as them. An
event whose track has ended already has its sighting corrected at once (enrollment.corrections.not_person).
"""
from __future__ import annotations

from django.db import transaction

from enrollment import corrections
from enrollment.models import Person, Sighting
from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action

from .models import Event, EventNotPerson


def not_person(event: Event, *, person: Person | None = None, actor: Actor | None = None) -> Event:
    """The event (its track) is not `person` (default: the person it names). Returns the event, renamed unknown
    when it named them."""
    person = person or event.person
    if person is None:
        raise corrections.NotApplicable("This event names nobody; say which person it is not (person_id).")
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        EventNotPerson.objects.get_or_create(event=event, person=person)
        was_theirs = event.person_id == person.id
        if was_theirs:
            event.person, event.matched, event.similarity = None, False, None
            event.save(update_fields=["person", "matched", "similarity", "updated_at"])
        sighting = Sighting.objects.filter(event_id=event.id).first()
        if sighting is not None:
            corrections.not_person(sighting, person=person, actor=actor)
        record(actor, Action.EVENT_NOT_PERSON, target_type="event", target_id=event.id, person_id=str(person.id),
               was_theirs=was_theirs, track_open=not event.closed, sighting_id=str(sighting.id) if sighting else None)
    return event


def excluded_people(event_id) -> set[str]:
    """The people an operator said the event's track is not (one indexed query; the runner asks at each decision)."""
    return {str(p) for p in EventNotPerson.objects.filter(event_id=event_id).values_list("person_id", flat=True)}
