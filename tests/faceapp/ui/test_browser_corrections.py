"""Corrections and their undo, and a person's timeline with a filter, in headless Chromium (axe-core at both sizes):
each correction made in the page is undone from its Recent corrections, and the database is as it was before."""
from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import pytest
from django.utils import timezone
from selenium.webdriver.support.ui import Select

from tests.enrollment.sighting_photos import identity_state, seen_in_past

from .conftest import NARROW, WIDE, log_in, set_viewport

pytestmark = pytest.mark.django_db(transaction=True)
DOOR, HALL = uuid.uuid4(), uuid.uuid4()


def check_page(page):
    assert page.axe() == []
    set_viewport(page.driver, *NARROW)
    assert page.fits_the_width() and page.axe() == []
    set_viewport(page.driver, *WIDE)


def test_an_operator_merges_two_unknown_groups_and_undoes_it(page, models_ready):
    from enrollment.models import Sighting

    obama = [seen_in_past(n, ago=dt.timedelta(hours=h)) for n, h in (("obama.jpg", 5), ("obama2.jpg", 4))]  # nobody enrolled: one group
    astronaut = seen_in_past("astronaut.jpg", ago=dt.timedelta(hours=3))
    group, other = obama[0].unknown_group, astronaut.unknown_group
    assert group.pk == obama[1].unknown_group_id != other.pk
    before = identity_state()

    log_in(page)
    page.open(f"/ui/unknowns/{group.pk}/")
    page.wait_for("#merge-group").find_element("css selector", "input[name=other]").send_keys(other.label)
    page.find("#merge-group button[type=submit]").click()
    page.wait_for_text(".messages", f"Merged: {group.label} now holds both groups' sightings.")
    assert Sighting.objects.get(pk=astronaut.pk).unknown_group_id == group.pk
    assert f"unknown groups merged ({other.label} into {group.label})" in page.find("#corrections").text
    check_page(page)
    page.screenshot("unknown-corrections-wide.png")

    page.find("#corrections button[type=submit]").click()
    page.wait_for_text(".messages", f"Undone: unknown groups merged. {other.label} is back with 1 sighting.")
    assert identity_state() == before
    assert not page.find_all("#corrections")


def test_an_operator_filters_a_persons_timeline_marks_a_sighting_not_them_and_undoes_it(page, models_ready):
    from enrollment import services
    from enrollment.models import Sighting
    from tests.conftest import read_bytes

    obama = services.enrol_person(name="Barack Obama", birthdate=None, image=read_bytes("samples", "obama.jpg"), image_name="obama.jpg")
    at_door_long_ago = seen_in_past("obama3.jpg", ago=dt.timedelta(hours=50), camera=DOOR, camera_name="front door")
    in_hall = seen_in_past("obama-480p.jpg", ago=dt.timedelta(hours=20), camera=HALL, camera_name="hall")
    at_door = seen_in_past("obama-720p.jpg", ago=dt.timedelta(hours=2), camera=DOOR, camera_name="front door")
    by_api = seen_in_past("obama-240p.jpg", ago=dt.timedelta(hours=1))
    assert {s.person_id for s in (at_door_long_ago, in_hall, at_door, by_api)} == {obama.id}
    before = identity_state()

    log_in(page)
    page.open(f"/ui/people/{obama.id}/")
    page.wait_for("#timeline a[href$='/timeline/']").click()
    page.wait_for("#timeline-filter")
    shown = lambda: [e.get_attribute("id") for e in page.find_all("#timeline .card")]  # noqa: E731
    assert shown() == [f"sighting-{s.id}" for s in (by_api, at_door, in_hall, at_door_long_ago)]

    # The front door, from a day and a half ago on (typed in the browser's own time zone).
    zone = zoneinfo.ZoneInfo(page.driver.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone"))
    since = (timezone.now() - dt.timedelta(hours=36)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    Select(page.find("#id_camera")).select_by_visible_text("front door")
    page.driver.execute_script("arguments[0].value = arguments[1]", page.find("#id_since"), since)
    page.find("#timeline-filter button[type=submit]").click()
    page.wait_until(lambda: "camera=" in page.driver.current_url)
    assert shown() == [f"sighting-{at_door.id}"]
    assert "(1 sighting)" in page.find("main h1").text and "front door" in page.find("#timeline").text
    check_page(page)
    page.screenshot("timeline-wide.png")

    # Not Barack Obama: the sighting leaves him; Undo names it him again, and the database is as before.
    page.find(f"#sighting-{at_door.id} button[type=submit]").click()
    page.wait_for_text(".messages", "that sighting is not Barack Obama")
    assert Sighting.objects.get(pk=at_door.pk).person_id is None
    assert "a sighting is not Barack Obama" in page.find("#corrections").text
    check_page(page)
    page.find("#corrections button[type=submit]").click()
    page.wait_for_text(".messages", "Undone: sighting: not this person. It is named again.")
    assert identity_state() == before and Sighting.objects.get(pk=at_door.pk).person_id == obama.id


def test_an_operator_marks_a_camera_event_not_this_person_and_undoes_it(page, models_ready):
    from enrollment import services
    from tests.conftest import read_bytes
    from tests.faceapp.ui.test_video_pages import make_event
    from videostreams.models import Camera, Event, EventNotPerson

    obama = services.enrol_person(name="Barack Obama", birthdate=None, image=read_bytes("samples", "obama.jpg"), image_name="obama.jpg")
    door = Camera.objects.create(name="front door", source="rtsp://127.0.0.1:9/door")
    event = make_event(door, person=obama)
    before = (Event.objects.filter(pk=event.pk).values_list("person_id", "matched", "similarity").get(), identity_state())

    log_in(page)
    page.open(f"/ui/events/{event.id}/")
    page.wait_for("#event-not-person button").click()
    page.wait_for_text(".messages", "Remembered: this face is not Barack Obama")
    assert Event.objects.get(pk=event.pk).person_id is None and EventNotPerson.objects.filter(event=event).exists()
    assert "camera event: not this person (not Barack Obama)" in page.find("#corrections").text
    check_page(page)
    page.find("#corrections button[type=submit]").click()
    page.wait_for_text(".messages", "Undone: camera event: not this person. It is named again.")
    assert (Event.objects.filter(pk=event.pk).values_list("person_id", "matched", "similarity").get(), identity_state()) == before
    assert not EventNotPerson.objects.exists() and page.find_all("#event-not-person")
