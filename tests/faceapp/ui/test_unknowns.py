"""The operator pages of unknown groups, corrections and the search of the past (Django's test client)."""
import pytest
from django.urls import reverse

from enrollment.models import Person, Sighting, UnknownGroup
from faceapp.audit.models import AuditEntry
from tests.conftest import upload
from tests.enrollment.sighting_photos import keep


@pytest.fixture
def obama_group(db, models_ready):
    seen = [keep(n)[0] for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    return seen[0].unknown_group, seen


@pytest.mark.parametrize("name", ["ui:unknowns", "ui:sightings-search"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_list_shows_each_group_with_its_best_shots_and_count(operator, obama_group):
    group, seen = obama_group
    page = operator.get(reverse("ui:unknowns")).content.decode()
    assert group.label in page and "seen 3 times" in page
    assert reverse("ui:sighting-crop", args=[seen[0].id]) in page or any(
        reverse("ui:sighting-crop", args=[s.id]) in page for s in seen)
    crop = operator.get(reverse("ui:sighting-crop", args=[seen[0].id]))
    assert crop.status_code == 200 and crop["Content-Type"] == "image/jpeg"


def test_enrolling_a_group_from_its_page_makes_the_person(operator, obama_group):
    group, seen = obama_group
    assert group.label in operator.get(reverse("ui:unknown", args=[group.pk])).content.decode()
    response = operator.post(reverse("ui:unknown-enrol", args=[group.pk]), {"name": "Barack Obama"}, follow=True)
    assert response.status_code == 200 and "Enrolled Barack Obama" in response.content.decode()
    person = Person.objects.get(name="Barack Obama")
    assert person.faces.count() == 3 and person.sightings.count() == 3
    assert AuditEntry.objects.filter(action="group.enrol", username="operator").exists()


def test_adding_merging_correcting_and_erasing_from_the_pages(operator, obama_group):
    group, seen = obama_group
    stranger = keep("astronaut.jpg")[0]
    merged = operator.post(reverse("ui:unknown-merge", args=[group.pk]), {"other": stranger.unknown_group.label}, follow=True)
    assert merged.status_code == 200 and Sighting.objects.filter(unknown_group=group).count() == 4
    moved = operator.post(reverse("ui:sighting-not-group", args=[stranger.id]), follow=True)
    assert "left the group" in moved.content.decode() and Sighting.objects.get(pk=stranger.pk).unknown_group_id != group.pk
    erased = operator.post(reverse("ui:unknown-delete", args=[group.pk]), follow=True)
    assert "Erased the group" in erased.content.decode()
    assert not UnknownGroup.objects.filter(pk=group.pk).exists() and not Sighting.objects.filter(pk=seen[0].pk).exists()
    assert operator.get(reverse("ui:unknown", args=[group.pk])).status_code == 404


def test_the_search_page_lists_the_most_similar_sightings(operator, obama_group):
    group, seen = obama_group
    keep("biden.jpg")
    response = operator.post(reverse("ui:sightings-search"), {"image": upload("samples", "obama-480p.jpg")})
    page = response.content.decode()
    assert response.status_code == 200 and page.count('class="thumb"') == 4
    first = page.index(reverse("ui:sighting-crop", args=[seen[2].id]))  # obama3: the same photo as obama-480p
    assert group.label in page and first > 0
    no_face = operator.post(reverse("ui:sightings-search"), {"image": upload("nonfaces", "cat.jpg")}, follow=True)
    assert no_face.status_code == 200 and "No face" in no_face.content.decode()


def test_a_persons_page_shows_their_latest_sightings(operator, cast):
    seen = keep("obama3.jpg")[0]
    assert seen.person_id == cast.obama.id
    page = operator.get(reverse("ui:person", args=[cast.obama.id])).content.decode()
    assert 'id="timeline"' in page and reverse("ui:sighting-crop", args=[seen.id]) in page
    assert "Not seen by a camera" in operator.get(reverse("ui:person", args=[cast.biden.id])).content.decode()


def test_a_rule_on_unknown_groups_and_opening_hours_is_made_in_the_rule_page(operator, db):
    from videostreams.models import Rule

    base = {"name": "strangers at night", "enabled": "on", "trigger": "unknown", "webhook_url": "http://127.0.0.1:9/hook"}
    bad = operator.post(reverse("ui:rule-new"), {**base, "hours_start": "08:00"})
    assert bad.status_code == 400 and not Rule.objects.exists()
    wrong_trigger = operator.post(reverse("ui:rule-new"), {**base, "trigger": "match", "unknown_min_days": "3"})
    assert wrong_trigger.status_code == 400
    made = operator.post(reverse("ui:rule-new"), {**base, "unknown_min_days": "3", "hours_start": "08:00", "hours_end": "18:00"})
    assert made.status_code == 302
    rule = Rule.objects.get()
    assert rule.unknown_min_days == 3 and str(rule.hours_start) == "08:00:00" and str(rule.hours_end) == "18:00:00"
    assert "Opening hours from" in operator.get(reverse("ui:rule", args=[rule.id])).content.decode()


def test_keep_as_unknown_in_who_is_this_puts_the_face_in_an_unknown_group_once(operator, cast):
    import re

    page = operator.post(reverse("ui:who"), {"photo": upload("samples", "astronaut.jpg")}).content.decode()
    req_id = re.search(r"\?req_id=([0-9a-f]+)", page).group(1)
    for _ in range(2):
        response = operator.post(reverse("ui:pending-keep", args=[req_id]), follow=True)
    kept = Sighting.objects.get(frame_key=f"pending:{req_id}")
    assert kept.person is None and kept.unknown_group is not None and kept.api_key_name == "operator operator"
    assert kept.unknown_group.label in response.content.decode()
