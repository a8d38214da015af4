"""A timeline (enrollment.timeline): every sighting of a person or an unknown group, newest first, by camera and time."""
import datetime as dt
import uuid

import pytest
from django.utils import timezone

from enrollment import timeline
from tests.enrollment.sighting_photos import seen_in_past

DOOR, HALL = uuid.uuid4(), uuid.uuid4()


def seen(name, *, days_ago, **where):
    return seen_in_past(name, ago=dt.timedelta(days=days_ago), **where)


@pytest.fixture
def obama_seen(cast):
    return [seen("obama3.jpg", days_ago=3, camera=DOOR, camera_name="door"),
            seen("obama-480p.jpg", days_ago=2, camera=HALL, camera_name="hall"),
            seen("obama-720p.jpg", days_ago=1, camera=DOOR, camera_name="front door"),
            seen("obama-240p.jpg", days_ago=0)]


def test_a_persons_timeline_is_all_their_sightings_newest_first(cast, obama_seen):
    assert all(s.person_id == cast.obama.id for s in obama_seen)
    seen("biden.jpg", days_ago=1, camera=DOOR, camera_name="door")  # somebody else's: not on Obama's timeline
    assert list(timeline.sightings_of(person=cast.obama)) == obama_seen[::-1]


def test_the_camera_and_time_filters_narrow_the_timeline(cast, obama_seen):
    now = timezone.now()
    assert list(timeline.sightings_of(person=cast.obama, camera=str(DOOR))) == [obama_seen[2], obama_seen[0]]
    window = timeline.sightings_of(person=cast.obama, since=now - dt.timedelta(days=2, hours=1), until=now - dt.timedelta(hours=12))
    assert list(window) == [obama_seen[2], obama_seen[1]]
    assert list(timeline.sightings_of(person=cast.obama, camera=str(HALL), since=now - dt.timedelta(days=1))) == []


def test_the_camera_choices_are_the_cameras_they_were_seen_on_under_their_latest_name(cast, obama_seen):
    assert timeline.cameras_of(person=cast.obama) == [(str(DOOR), "front door"), (str(HALL), "hall")]
    assert timeline.cameras_of(person=cast.biden) == []


def test_an_unknown_groups_timeline(db, models_ready):
    first, second = seen("obama.jpg", days_ago=2), seen("obama2.jpg", days_ago=1)  # nobody enrolled: one group
    seen("cameraman.jpg", days_ago=0)
    group = first.unknown_group
    assert second.unknown_group_id == group.pk
    assert list(timeline.sightings_of(group=group)) == [second, first]
    with pytest.raises(ValueError):
        timeline.sightings_of()
