"""Each ended camera track is kept as a sighting; erasing a person erases their sightings, events and files."""
from pathlib import Path

import pytest

from enrollment import people
from enrollment.models import Sighting
from tests.videostreams.test_processing import frames_of, run
from videostreams.models import Camera, Event
from videostreams.processing import CameraConfig, Processor

pytestmark = pytest.mark.django_db(transaction=True)


def media_files(root) -> list[str]:
    root = Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def watch_clip(name="door"):
    camera = Camera.objects.create(name=name, source="x", mode=Camera.Mode.BEST_SHOT)
    processor = Processor()
    processor.set_config(CameraConfig.from_camera(camera))
    run(processor, frames_of(camera.id))
    processor.flush()
    return camera


def test_each_ended_track_is_kept_as_a_sighting_with_its_camera_times_and_name(obama, media_in_tmp):
    camera = watch_clip()
    events = list(Event.objects.filter(camera=camera, closed=True))
    kept = {s.event_id: s for s in Sighting.objects.filter(camera_id=camera.id)}
    assert events and set(kept) == {e.id for e in events}
    for event in events:
        sighting = kept[event.id]
        assert sighting.source == "camera" and sighting.camera_name == "door"
        assert (sighting.seen_at, sighting.until) == (event.first_seen, event.last_seen)
        assert sighting.person_id == event.person_id
        assert sighting.verdict == ("named" if event.matched else "unknown")
        assert (sighting.unknown_group_id is None) == event.matched  # strangers join unknown groups at once
        assert (media_in_tmp / sighting.crop.name).is_file()
    assert any(s.person_id == obama.id for s in kept.values())


def test_erasing_a_person_erases_their_sightings_events_vectors_and_files(obama, media_in_tmp):
    camera = watch_clip()
    theirs = list(Sighting.objects.filter(person=obama))
    their_events = list(Event.objects.filter(person=obama))
    assert theirs and their_events
    names = [s.crop.name for s in theirs] + [n for e in their_events for n in e.image_names()]
    assert all(name in media_files(media_in_tmp) for name in names)
    strangers = Sighting.objects.filter(camera_id=camera.id, person__isnull=True).count()
    people.delete_person(obama)
    assert not Sighting.objects.filter(pk__in=[s.pk for s in theirs]).exists()
    assert not Event.objects.filter(pk__in=[e.pk for e in their_events]).exists()
    left = media_files(media_in_tmp)
    assert not [name for name in names if name in left]
    # The strangers' sightings and events are untouched.
    assert Sighting.objects.filter(camera_id=camera.id).count() == strangers
    assert all(s.crop.name in left for s in Sighting.objects.all())
