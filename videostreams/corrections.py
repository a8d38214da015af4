"""An operator's "not this person" on a camera event, also while its track is still followed by the camera runner.

The correction is kept per event (EventNotPerson): the runner reads it at each later decision of the open track and
does not name the person again (videostreams.processing); when the track ends, the sighting kept of it carries the
exclusion (videostreams.sightings), so that neither a sweep nor adding an unknown group names the face as them. An
event whose track has ended already has its sighting corrected at once (enrollment.corrections.not_person).
"""
from __future__ import annotations

from django.db import transaction

from enrollment import correction_log, corrections, undo
from enrollment.models import Person, Sighting, SightingExclusion
from enrollment.undo import NotUndoable
from faceapp.audit.log import Actor, record
from faceapp.audit.models import Action, AuditEntry

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
        was_theirs, similarity = event.person_id == person.id, event.similarity
        if was_theirs:
            event.person, event.matched, event.similarity = None, False, None
            event.save(update_fields=["person", "matched", "similarity", "updated_at"])
        sighting = Sighting.objects.filter(event_id=event.id).first()
        if sighting is not None:
            corrections.not_person(sighting, person=person, actor=actor, event_id=event.id)
        record(actor, Action.EVENT_NOT_PERSON, target_type="event", target_id=event.id, person_id=str(person.id),
               was_theirs=was_theirs, similarity=similarity, track_open=not event.closed,
               sighting_id=str(sighting.id) if sighting else None)
    return event


def excluded_people(event_id) -> set[str]:
    """The people an operator said the event's track is not (one indexed query; the runner asks at each decision)."""
    return {str(p) for p in EventNotPerson.objects.filter(event_id=event_id).values_list("person_id", flat=True)}


def undoable_corrections(event_id) -> list:
    """The event's "not this person" corrections that can still be undone (its page offers *Undo*)."""
    return correction_log.of_target("event", event_id, [Action.EVENT_NOT_PERSON])


def undo_not_person(details: dict, entry) -> dict:
    """Undo (enrollment.undo): the exclusion is forgotten, for the event and for its sighting (made then or since, when
    the track ended); an event it renamed unknown, and its sighting if still unnamed, name the person again."""
    event = Event.objects.filter(pk=entry.target_id).first()
    person = Person.objects.filter(pk=details["person_id"]).first()
    if event is None or person is None:
        raise NotUndoable("The event or the person is gone since.")
    EventNotPerson.objects.filter(event=event, person=person).delete()
    sighting = Sighting.objects.filter(event_id=event.id).first()
    if sighting is not None:
        SightingExclusion.objects.filter(sighting=sighting, person=person).delete()
    named = False
    if details.get("was_theirs") and event.person_id is None:
        event.person, event.matched, event.similarity = person, True, details.get("similarity")
        event.save(update_fields=["person", "matched", "similarity", "updated_at"])
        named = True
        if sighting is not None and sighting.person_id is None:
            joined = sighting.unknown_group_id
            sighting.person, sighting.unknown_group = person, None
            sighting.save(update_fields=["person", "unknown_group"])
            undo.drop_if_empty(joined)
    # The sighting's own entry of this correction is undone with it (evaluate --corrections counts it no more).
    part = (AuditEntry.objects.filter(action=Action.SIGHTING_NOT_PERSON, details__event_id=str(event.id), pk__lt=entry.pk)
            .order_by("-pk").values_list("pk", flat=True).first())
    return {"person_id": str(person.id), "named_again": named, **({"also_undoes": part} if part else {})}
