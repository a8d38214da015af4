"""A person's (and a group's) timeline page, and "Not <name>" on one of its sightings with its Undo (Django's client)."""
import datetime as dt
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from enrollment.models import Sighting, SightingExclusion
from faceapp.audit.models import AuditEntry
from tests.enrollment.sighting_photos import seen_in_past

DOOR, HALL = uuid.uuid4(), uuid.uuid4()


def seen(name, *, days_ago, **where):
    return seen_in_past(name, ago=dt.timedelta(days=days_ago), **where)


@pytest.fixture
def obama_seen(cast):
    return [seen("obama3.jpg", days_ago=3, camera=DOOR, camera_name="door"),
            seen("obama-480p.jpg", days_ago=2, camera=HALL, camera_name="hall"),
            seen("obama-720p.jpg", days_ago=1, camera=DOOR, camera_name="door"),
            seen("obama-240p.jpg", days_ago=0)]


def crops_on(page: str, sightings) -> list[int]:
    """Which of `sightings` the page shows, in the order shown."""
    at = {i: page.find(reverse("ui:sighting-crop", args=[s.id])) for i, s in enumerate(sightings)}
    return [i for i, position in sorted(at.items(), key=lambda item: item[1]) if position >= 0]


def test_the_person_page_links_to_their_timeline_which_lists_every_sighting_newest_first(operator, obama_seen, cast):
    url = reverse("ui:person-timeline", args=[cast.obama.id])
    assert url in operator.get(reverse("ui:person", args=[cast.obama.id])).content.decode()
    response = operator.get(url)
    page = response.content.decode()
    assert response.status_code == 200 and "Timeline of Barack Obama" in page and "(4 sightings)" in page
    assert crops_on(page, obama_seen) == [3, 2, 1, 0]
    assert "door" in page and "hall" in page and "API key cast read" not in page
    assert "named, similarity" in page and page.count("Not Barack Obama") == 4


def test_the_timeline_is_paged(operator, obama_seen, cast, monkeypatch):
    from faceapp.ui.views import timeline

    monkeypatch.setattr(timeline, "PAGE_SIZE", 3)
    url = reverse("ui:person-timeline", args=[cast.obama.id])
    first = operator.get(url, {"camera": ""}).content.decode()
    assert crops_on(first, obama_seen) == [3, 2, 1] and "page 1 of 2" in first and "?camera=&amp;page=2" in first
    assert crops_on(operator.get(url, {"camera": "", "page": 2}).content.decode(), obama_seen) == [0]


def test_the_timeline_is_filtered_by_camera_and_time_range_in_the_browsers_zone(operator, obama_seen, cast):
    url = reverse("ui:person-timeline", args=[cast.obama.id])
    door = operator.get(url, {"camera": str(DOOR)}).content.decode()
    assert crops_on(door, obama_seen) == [2, 0] and "(2 sightings)" in door
    operator.cookies["tz"] = "Asia/Tokyo"  # UTC+9: the times typed are Tokyo's
    tokyo = dt.timezone(dt.timedelta(hours=9))
    since = (timezone.now() - dt.timedelta(days=2, hours=1)).astimezone(tokyo).strftime("%Y-%m-%dT%H:%M")
    until = (timezone.now() - dt.timedelta(hours=12)).astimezone(tokyo).strftime("%Y-%m-%dT%H:%M")
    window = operator.get(url, {"since": since, "until": until}).content.decode()
    assert crops_on(window, obama_seen) == [2, 1]
    both = operator.get(url, {"camera": str(HALL), "since": since, "until": until}).content.decode()
    assert crops_on(both, obama_seen) == [1] and "No sighting matches the filter." not in both
    none = operator.get(url, {"camera": str(HALL), "until": (timezone.now() - dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")})
    assert "No sighting matches the filter." in none.content.decode()


def test_a_wrong_filter_or_id_is_a_clear_4xx(operator, obama_seen, cast):
    url = reverse("ui:person-timeline", args=[cast.obama.id])
    backwards = operator.get(url, {"since": "2026-12-03T10:00", "until": "2026-12-01T10:00"})
    assert backwards.status_code == 400 and "is after" in backwards.content.decode()
    assert operator.get(url, {"camera": str(uuid.uuid4())}).status_code == 400
    assert operator.get(url, {"since": "yesterday"}).status_code == 400
    assert operator.get(reverse("ui:person-timeline", args=[uuid.uuid4()])).status_code == 404
    assert operator.get(reverse("ui:unknown-timeline", args=[999999])).status_code == 404
    assert operator.post(reverse("ui:sighting-not-person", args=[uuid.uuid4()])).status_code == 404


def test_a_groups_timeline(operator, db, models_ready):
    first, second = seen("obama.jpg", days_ago=2), seen("obama2.jpg", days_ago=1)
    group = first.unknown_group
    url = reverse("ui:unknown-timeline", args=[group.pk])
    assert url in operator.get(reverse("ui:unknown", args=[group.pk])).content.decode()
    page = operator.get(url).content.decode()
    assert f"Timeline of unknown person {group.label}" in page and crops_on(page, [first, second]) == [1, 0]


def test_only_staff_see_timelines_and_correct_them(client, django_user_model, obama_seen, cast):
    url = reverse("ui:person-timeline", args=[cast.obama.id])
    assert "/accounts/login/" in client.get(url)["Location"]
    client.force_login(django_user_model.objects.create_user("viewer", password="a long pass phrase 2"))
    assert client.get(url).status_code == 403
    assert client.post(reverse("ui:sighting-not-person", args=[obama_seen[0].id])).status_code == 403
    assert Sighting.objects.get(pk=obama_seen[0].pk).person_id == cast.obama.id


def test_not_this_person_on_a_sighting_needs_the_csrf_token(staff, obama_seen, cast):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post(reverse("ui:sighting-not-person", args=[obama_seen[0].id])).status_code == 403
    assert Sighting.objects.get(pk=obama_seen[0].pk).person_id == cast.obama.id


def test_not_this_person_on_a_sighting_and_its_undo_from_the_timeline(operator, obama_seen, cast):
    wrong = obama_seen[1]
    url = reverse("ui:person-timeline", args=[cast.obama.id])
    response = operator.post(reverse("ui:sighting-not-person", args=[wrong.id]), follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == url
    moved = Sighting.objects.get(pk=wrong.pk)
    assert moved.person_id is None and moved.unknown_group_id is not None
    assert f"that sighting is not Barack Obama; it is now in {moved.unknown_group.label}" in page
    assert crops_on(page, obama_seen) == [3, 2, 0]
    entry = AuditEntry.objects.get(action="sighting.not_person", username="operator")
    undo_url = reverse("ui:correction-undo", args=[entry.pk])
    assert 'id="corrections"' in page and undo_url in page and "a sighting is not Barack Obama" in page
    undone = operator.post(undo_url, {"next": url}, follow=True)
    text = undone.content.decode()
    assert undone.redirect_chain[-1][0] == url and "Undone: sighting: not this person. It is named again." in text
    back = Sighting.objects.get(pk=wrong.pk)
    assert (back.person_id, back.unknown_group_id) == (cast.obama.id, None) and not SightingExclusion.objects.exists()
    assert undo_url not in text and crops_on(text, obama_seen) == [3, 2, 1, 0]
    again = operator.post(undo_url, {"next": url}, follow=True)
    assert "Not undone: This correction was undone already." in again.content.decode()


def test_not_this_person_comes_back_to_the_same_filtered_page_and_never_to_another_site(operator, obama_seen, cast):
    url = reverse("ui:person-timeline", args=[cast.obama.id])
    filtered = f"{url}?camera={DOOR}"
    page = operator.get(filtered).content.decode()
    assert f'name="next" value="{url}?camera={DOOR}"' in page
    back = operator.post(reverse("ui:sighting-not-person", args=[obama_seen[0].id]), {"next": filtered})
    assert back.status_code == 302 and back["Location"] == filtered
    elsewhere = operator.post(reverse("ui:sighting-not-person", args=[obama_seen[1].id]), {"next": "//evil.example/ui/"})
    assert elsewhere["Location"] == url
