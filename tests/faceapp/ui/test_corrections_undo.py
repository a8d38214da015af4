"""Undo, in the operator pages, of the corrections on unknown groups, sightings and camera events: each correction is
then listed under Recent corrections (or the person's Recent edits) with an Undo that puts the database back as it
was (Django's client; the real models and photos)."""
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from enrollment.models import Person, Sighting, SightingExclusion, UnknownGroup
from faceapp.audit.models import AuditEntry
from tests.enrollment.sighting_photos import identity_state, keep


def undo_button(page: str, action: str) -> str:
    entry = AuditEntry.objects.filter(action=action).latest("id")
    url = reverse("ui:correction-undo", args=[entry.pk])
    assert url in page, f"no Undo for {action} on the page"
    return url


@pytest.fixture
def groups(db, models_ready):
    """Two photos of Obama (nobody is enrolled: one unknown group) and the astronaut (another)."""
    obama = [keep(n)[0] for n in ("obama.jpg", "obama2.jpg")]
    astronaut = keep("astronaut.jpg")[0]
    assert obama[0].unknown_group_id == obama[1].unknown_group_id != astronaut.unknown_group_id
    return obama[0].unknown_group, astronaut.unknown_group, obama, astronaut


def test_merging_two_groups_and_undoing_it_from_the_groups_page(operator, groups):
    group, other, obama, astronaut = groups
    before = identity_state()
    page_url = reverse("ui:unknown", args=[group.pk])
    merged = operator.post(reverse("ui:unknown-merge", args=[group.pk]), {"other": other.label}, follow=True)
    page = merged.content.decode()
    assert identity_state() != before and 'id="corrections"' in page and f"({other.label} into {group.label})" in page
    undone = operator.post(undo_button(page, "group.merge"), {"next": page_url}, follow=True)
    assert undone.redirect_chain[-1][0] == page_url
    assert f"Undone: unknown groups merged. {other.label} is back with 1 sighting." in undone.content.decode()
    assert identity_state() == before


def test_not_in_this_group_and_its_undo(operator, groups):
    group, other, obama, astronaut = groups
    before = identity_state()
    page_url = reverse("ui:unknown", args=[group.pk])
    moved = operator.post(reverse("ui:sighting-not-group", args=[obama[1].id]), follow=True)
    page = moved.content.decode()
    assert Sighting.objects.get(pk=obama[1].pk).unknown_group_id != group.pk
    assert f"a face left {group.label} for" in page
    undone = operator.post(undo_button(page, "sighting.not_group"), {"next": page_url}, follow=True)
    assert f"The face is back in {group.label}." in undone.content.decode()
    assert identity_state() == before  # (the group the face had joined for the while is gone with it)


def test_not_this_person_on_a_group_and_its_undo(operator, groups):
    from enrollment import services

    group, other, obama, astronaut = groups
    eileen = services.create_person(name="Eileen Collins")
    before = identity_state()
    page_url = reverse("ui:unknown", args=[other.pk])
    page = operator.get(page_url).content.decode()
    assert 'id="group-not-person"' in page and f'formaction="{reverse("ui:unknown-not-person", args=[other.pk])}"' in page
    assert "on ." not in page  # (seen by API searches only: no camera to name)
    said = operator.post(reverse("ui:unknown-not-person", args=[other.pk]), {"person": str(eileen.id)}, follow=True)
    page = said.content.decode()
    assert f"Remembered: no face of {other.label} is Eileen Collins." in page
    assert SightingExclusion.objects.filter(sighting=astronaut, person=eileen).exists()
    refused = operator.post(reverse("ui:unknown-add", args=[other.pk]), {"person": str(eileen.id)}, follow=True)
    assert "marked as not Eileen Collins" in refused.content.decode()
    undone = operator.post(undo_button(page, "group.not_person"), {"next": page_url}, follow=True)
    assert "1 sighting is no longer marked as not them." in undone.content.decode()
    assert identity_state() == before
    assert operator.post(reverse("ui:unknown-not-person", args=[999999]), {"person": str(eileen.id)}).status_code == 404


def test_enrolling_a_group_opens_the_new_persons_page_whose_undo_gives_the_group_back(operator, groups):
    group, other, obama, astronaut = groups
    before = identity_state()
    enrolled = operator.post(reverse("ui:unknown-enrol", args=[group.pk]), {"name": "Barack Obama"}, follow=True)
    person = Person.objects.get(name="Barack Obama")
    assert enrolled.redirect_chain[-1][0] == reverse("ui:person", args=[person.id])
    page = enrolled.content.decode()
    assert f"({group.label} became Barack Obama)" in page and person.faces.count() == 2
    undone = operator.post(undo_button(page, "group.enrol"), {"next": reverse("ui:person", args=[person.id])}, follow=True)
    assert undone.redirect_chain[-1][0] == reverse("ui:unknown", args=[group.pk])  # (the person's page is gone)
    text = undone.content.decode()
    assert (f"Undone: unknown group enrolled as a new person. {group.label} is back with 2 sightings. The 2 faces it gave "
            "were deleted. The person made from it was deleted.") in text
    assert identity_state() == before


def test_adding_a_group_to_a_person_and_its_undo(operator, groups):
    from enrollment import services

    group, other, obama, astronaut = groups
    eileen = services.create_person(name="Eileen Collins")
    before = identity_state()
    added = operator.post(reverse("ui:unknown-add", args=[other.pk]), {"person": str(eileen.id)}, follow=True)
    page = added.content.decode()
    assert Sighting.objects.get(pk=astronaut.pk).person_id == eileen.id and f"({other.label} added to Eileen Collins)" in page
    undone = operator.post(undo_button(page, "group.add_to_person"), {"next": reverse("ui:person", args=[eileen.id])}, follow=True)
    assert undone.redirect_chain[-1][0] == reverse("ui:unknown", args=[other.pk])
    assert identity_state() == before and Person.objects.filter(pk=eileen.pk).exists()


def test_an_undo_that_cannot_be_done_whole_says_why_and_changes_nothing(operator, groups):
    group, other, obama, astronaut = groups
    page_url = reverse("ui:unknown", args=[group.pk])
    operator.post(reverse("ui:unknown-merge", args=[group.pk]), {"other": other.label})
    operator.post(reverse("ui:sighting-not-group", args=[astronaut.id]))  # the astronaut's face leaves the merged group
    undo_merge = undo_button(operator.get(page_url).content.decode(), "group.merge")
    before = identity_state()
    refused = operator.post(undo_merge, {"next": page_url}, follow=True)
    assert "Not undone: Some faces this merge put in" in refused.content.decode() and "corrected or moved since" in refused.content.decode()
    assert identity_state() == before
    assert not AuditEntry.objects.filter(action="correction.undo").exists()


def test_erasing_is_never_offered_for_undo_and_its_undo_is_refused(operator, groups):
    group, other, obama, astronaut = groups
    operator.post(reverse("ui:unknown-delete", args=[other.pk]))
    entry = AuditEntry.objects.get(action="group.delete")
    refused = operator.post(reverse("ui:correction-undo", args=[entry.pk]), {"next": reverse("ui:unknowns")}, follow=True)
    assert "Not undone: A &#x27;unknown group erased&#x27; cannot be undone." in refused.content.decode()
    assert not UnknownGroup.objects.filter(pk=other.pk).exists()
    assert reverse("ui:correction-undo", args=[entry.pk]) not in operator.get(reverse("ui:unknown", args=[group.pk])).content.decode()


def test_undo_is_a_csrf_protected_post_of_staff_on_an_existing_entry(staff, operator, django_user_model, groups):
    group, other, obama, astronaut = groups
    operator.post(reverse("ui:unknown-merge", args=[group.pk]), {"other": other.label})
    url = reverse("ui:correction-undo", args=[AuditEntry.objects.get(action="group.merge").pk])
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post(url).status_code == 403
    assert operator.get(url).status_code == 405
    viewer = Client()
    viewer.force_login(django_user_model.objects.create_user("viewer", password="a long pass phrase 2"))
    assert viewer.post(url).status_code == 403
    assert not AuditEntry.objects.filter(action="correction.undo").exists()
    assert operator.post(reverse("ui:correction-undo", args=[987654])).status_code == 404


# --- A camera event ---------------------------------------------------------------------------------------------


@pytest.fixture
def event_of_obama(cast):
    """A closed camera event named Barack Obama, with the sighting kept of its track (a real face of him)."""
    from tests.faceapp.ui.test_video_pages import make_event
    from videostreams.models import Camera

    door = Camera.objects.create(name="door", source="rtsp://127.0.0.1:9/door")
    event = make_event(door, person=cast.obama)
    sighting = keep("obama3.jpg")[0]
    Sighting.objects.filter(pk=sighting.pk).update(event_id=event.id, camera_id=door.id, camera_name="door",
                                                   source=Sighting.Source.CAMERA)
    return event, Sighting.objects.get(pk=sighting.pk)


def event_state(event) -> tuple:
    from videostreams.models import Event, EventNotPerson

    fresh = Event.objects.get(pk=event.pk)
    return (fresh.person_id, fresh.matched, fresh.similarity, set(EventNotPerson.objects.values_list("event_id", "person_id")),
            identity_state())


def test_not_this_person_on_an_event_and_its_undo_from_the_events_page(operator, event_of_obama, cast):
    event, sighting = event_of_obama
    before = event_state(event)
    page_url = reverse("ui:event", args=[event.id])
    marked = operator.post(reverse("ui:event-not-person", args=[event.id]), follow=True)
    page = marked.content.decode()
    assert event_state(event) != before and Sighting.objects.get(pk=sighting.pk).person_id is None
    assert 'id="corrections"' in page and "camera event: not this person (not Barack Obama)" in page
    # The sighting's part of it is undone with the event, not offered apart on Obama's pages.
    assert "a sighting is not Barack Obama" not in operator.get(reverse("ui:person", args=[cast.obama.id])).content.decode()
    undone = operator.post(undo_button(page, "event.not_person"), {"next": page_url}, follow=True)
    assert undone.redirect_chain[-1][0] == page_url
    text = undone.content.decode()
    assert "Undone: camera event: not this person. It is named again." in text and 'id="event-not-person"' in text
    assert event_state(event) == before
    sighting_part = AuditEntry.objects.get(action="sighting.not_person")
    refused = operator.post(reverse("ui:correction-undo", args=[sighting_part.pk]), {"next": page_url}, follow=True)
    assert "undo that correction" in refused.content.decode() and event_state(event) == before


def test_an_events_undo_needs_staff_and_a_wrong_event_is_404(django_user_model, operator, event_of_obama):
    event, sighting = event_of_obama
    operator.post(reverse("ui:event-not-person", args=[event.id]))
    url = reverse("ui:correction-undo", args=[AuditEntry.objects.get(action="event.not_person").pk])
    viewer = Client()
    viewer.force_login(django_user_model.objects.create_user("viewer", password="a long pass phrase 2"))
    assert viewer.post(url).status_code == 403 and AuditEntry.objects.filter(action="correction.undo").count() == 0
    assert operator.get(reverse("ui:event", args=[uuid.uuid4()])).status_code == 404
    assert operator.post(reverse("ui:event-not-person", args=[uuid.uuid4()])).status_code == 404
