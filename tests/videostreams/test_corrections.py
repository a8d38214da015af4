"""'Not this person' on a camera event (videostreams.corrections), through the real runner path: a correction made
while the camera still follows the track holds for the track's later decisions and for its sighting."""
import pytest

from enrollment import sweep
from enrollment.models import Sighting, SightingExclusion
from faceapp.audit.models import AuditEntry
from tests.videostreams.test_processing import frames_of, run
from videostreams import corrections
from videostreams.models import Camera, Event, EventNotPerson
from videostreams.processing import CameraConfig, Processor

pytestmark = pytest.mark.django_db(transaction=True)


def realtime_camera():
    camera = Camera.objects.create(name="door", source="x", mode=Camera.Mode.REALTIME)
    processor = Processor()
    processor.set_config(CameraConfig.from_camera(camera))
    frames = list(frames_of(camera.id))
    start = frames[0].timestamp
    return camera, processor, [f for f in frames if f.timestamp - start < 4.0], [f for f in frames if f.timestamp - start >= 4.0]


def test_a_track_marked_not_this_person_while_open_is_not_named_them_again(obama, media_in_tmp):
    camera, processor, first, rest = realtime_camera()
    run(processor, first)
    event = Event.objects.get(camera=camera, person=obama, closed=False)  # Obama in view, the track still open
    corrections.not_person(event)
    assert Event.objects.get(pk=event.pk).person_id is None
    run(processor, rest)  # he stays in view: the track is decided again, and at its end
    processor.flush()
    event.refresh_from_db()
    assert event.closed and event.frames_seen > 3
    assert event.person_id is None and not event.matched
    assert event.votes["winner"] != str(obama.id)
    assert any(v["person"] is None for v in event.votes["votes"])
    sighting = Sighting.objects.get(event_id=event.id)
    assert sighting.person_id is None and SightingExclusion.objects.filter(sighting=sighting, person=obama).exists()
    sweep.sweep()
    assert Sighting.objects.get(pk=sighting.pk).person_id is None
    entry = AuditEntry.objects.get(action="event.not_person")
    assert entry.details["track_open"] is True and entry.details["was_theirs"] is True
    # The track was recognised (until the operator said otherwise): it counts as an observed false accept.
    from enrollment.field_errors import field_errors

    door = next(f for f in field_errors().places if f.place == "door")
    assert door.false_accepts == 1 and door.recognised >= 1


def test_without_the_correction_the_same_track_keeps_its_name(obama, media_in_tmp):
    """The control of the test above: the clip's track is named Obama to its end when nobody corrects it."""
    camera, processor, first, rest = realtime_camera()
    run(processor, first + rest)
    processor.flush()
    event = Event.objects.get(camera=camera, track_id__isnull=False, person=obama)
    assert event.closed and Sighting.objects.get(event_id=event.id).person_id == obama.id


def test_a_closed_events_sighting_is_corrected_at_once(obama, media_in_tmp):
    camera, processor, first, rest = realtime_camera()
    run(processor, first + rest)
    processor.flush()
    event = Event.objects.get(camera=camera, person=obama)
    sighting = Sighting.objects.get(event_id=event.id)
    corrections.not_person(event)
    assert Sighting.objects.get(pk=sighting.pk).person_id is None
    assert SightingExclusion.objects.filter(sighting=sighting, person=obama).exists()
    assert EventNotPerson.objects.filter(event=event, person=obama).exists()
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {"event.not_person", "sighting.not_person"}



def test_undoing_not_this_person_on_an_event_names_the_event_and_its_sighting_again(obama, media_in_tmp):
    from enrollment import undo

    camera, processor, first, rest = realtime_camera()
    run(processor, first + rest)
    processor.flush()
    event = Event.objects.get(camera=camera, person=obama)
    sighting = Sighting.objects.get(event_id=event.id)
    before = (event.person_id, event.matched, event.similarity, sighting.person_id, sighting.unknown_group_id)
    corrections.not_person(event)
    undo.undo(AuditEntry.objects.get(action="event.not_person").pk)
    event.refresh_from_db()
    sighting.refresh_from_db()
    assert (event.person_id, event.matched, event.similarity, sighting.person_id, sighting.unknown_group_id) == before
    assert not EventNotPerson.objects.exists() and not SightingExclusion.objects.exists()


def test_the_api_marks_an_event_not_this_person_with_the_enroll_scope(obama, api_key):
    from django.utils import timezone

    from tests.conftest import client_with_key

    camera = Camera.objects.create(name="door", source="x", enabled=False)
    event = Event.objects.create(camera=camera, track_id="1", first_seen=timezone.now(), last_seen=timezone.now(), person=obama,
                                 matched=True, similarity=0.8, quality=0.8, crop="events/crops/x.jpg", thumbnail="events/thumbs/x.jpg")
    reader = client_with_key(api_key("read")).post(f"/api/v1/events/{event.id}/not-person", {}, format="json")
    assert reader.status_code == 403 and Event.objects.get(pk=event.pk).person_id == obama.id
    response = client_with_key(api_key("enroll")).post(f"/api/v1/events/{event.id}/not-person", {}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["matched"] is False and Event.objects.get(pk=event.pk).person_id is None
    again = client_with_key(api_key("enroll")).post(f"/api/v1/events/{event.id}/not-person", {}, format="json")
    assert again.status_code == 400 and again.json()["error_code"] == "not_applicable"


def test_undoing_an_events_correction_takes_its_sightings_part_out_of_the_observed_errors(obama, media_in_tmp):
    """The event's sighting got its own "not this person" entry; undoing the event's correction undoes that too, so
    evaluate --corrections no longer counts the sighting as a false accept."""
    from enrollment import field_errors, undo
    from tests.enrollment.sighting_photos import keep
    from tests.faceapp.ui.test_video_pages import make_event

    camera = Camera.objects.create(name="door", source="x", enabled=False)
    event = make_event(camera, person=obama)
    sighting = keep("obama3.jpg")[0]
    Sighting.objects.filter(pk=sighting.pk).update(event_id=event.id, camera_id=camera.id, camera_name="door",
                                                   source=Sighting.Source.CAMERA)
    corrections.not_person(event)
    assert field_errors.field_errors().total.false_accepts == 1
    done = undo.undo(AuditEntry.objects.get(action="event.not_person").pk)
    assert done.details["also_undoes"] == AuditEntry.objects.get(action="sighting.not_person").pk
    assert field_errors.field_errors().total.false_accepts == 0
    assert Sighting.objects.get(pk=sighting.pk).person_id == obama.id
