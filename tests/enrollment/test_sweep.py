"""The re-clustering sweep (enrollment.sweep): merges, splits, stable ids, constraints, its schedule."""
import pytest
from django.core.management import call_command

from enrollment import sweep
from enrollment.models import Sighting, UnknownGroup
from tests.enrollment.sighting_photos import keep, side_by_side

pytestmark = pytest.mark.django_db


def groups_of(sightings) -> list:
    return [Sighting.objects.get(pk=s.pk).unknown_group_id for s in sightings]


@pytest.fixture
def strangers(models_ready):
    seen = {n: keep(n)[0] for n in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.jpg")}
    seen["twin"] = keep("", image=side_by_side("biden.jpg"))  # two faces of Biden in one photo
    return seen


def test_two_sweeps_in_a_row_keep_every_group_and_its_id(strangers):
    flat = [s for v in strangers.values() for s in (v if isinstance(v, list) else [v])]
    before = groups_of(flat)
    first = sweep.sweep()
    after_first = groups_of(flat)
    second = sweep.sweep()
    assert groups_of(flat) == after_first
    # The people the incremental pass grouped keep their ids (of the twin photo's two Biden faces, the sweep may pick
    # the other one, the closer, to go with biden.jpg).
    assert after_first[:5] == before[:5]
    assert first.sightings == second.sightings == len(flat)
    assert second.sightings_moved == 0 and second.groups_created == 0 and second.ids_kept == second.groups_after


def test_a_sweep_merges_groups_that_arrived_apart_keeping_the_older_id(strangers):
    obama = [strangers[n] for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    kept_id = obama[0].unknown_group_id
    apart = UnknownGroup.objects.create()
    Sighting.objects.filter(pk=obama[2].pk).update(unknown_group=apart)
    result = sweep.sweep()
    assert groups_of(obama) == [kept_id] * 3
    assert not UnknownGroup.objects.filter(pk=apart.pk).exists() and result.groups_removed >= 1


def test_a_sweep_splits_a_stranger_out_of_a_group_and_the_group_keeps_its_id(strangers):
    obama_group = strangers["obama.jpg"].unknown_group_id
    astronaut = strangers["astronaut.jpg"]
    old_astronaut_group = astronaut.unknown_group_id
    Sighting.objects.filter(pk=astronaut.pk).update(unknown_group_id=obama_group)
    UnknownGroup.objects.filter(pk=old_astronaut_group).delete()
    sweep.sweep()
    assert groups_of([strangers[n] for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]) == [obama_group] * 3
    assert groups_of([astronaut])[0] not in (obama_group, None)


def test_a_sweep_never_puts_two_faces_of_one_photo_together(strangers):
    twins = strangers["twin"]
    sweep.sweep()
    first, second = groups_of(twins)
    assert first != second
    assert groups_of([strangers["biden.jpg"]])[0] in (first, second)


def test_sightings_of_enrolled_people_are_left_alone(cast):
    named = keep("obama3.jpg")[0]
    keep("astronaut.jpg")
    result = sweep.sweep()
    assert result.sightings == 1
    named.refresh_from_db()
    assert named.person_id == cast.obama.id and named.unknown_group_id is None


def test_the_sweep_is_scheduled_and_has_a_command(strangers, capsys):
    from django_q.models import Schedule

    assert Schedule.objects.filter(func="enrollment.tasks.sweep_unknown_groups", repeats=-1).exists()
    call_command("sweep_unknowns")
    assert "unknown sightings" in capsys.readouterr().out


def test_blocks_are_clustered_apart_with_the_same_result_and_constraints(strangers):
    """The sweep clusters block by block (clustering.blocks): Obama's three photos are one block, each stranger its
    own, and the twin photo's two Biden faces one block kept apart by their constraint."""
    flat = [s for v in strangers.values() for s in (v if isinstance(v, list) else [v])]
    result = sweep.sweep()
    assert result.blocks < result.sightings and result.largest_block >= 3 and result.sightings_left == 0
    obama = groups_of([strangers[n] for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")])
    assert len(set(obama)) == 1
    assert len(set(groups_of(flat))) == result.groups_after
    twins = groups_of(strangers["twin"])
    assert twins[0] != twins[1]


def test_a_block_above_the_limit_reclusters_its_newest_and_leaves_the_older_in_their_groups(strangers, monkeypatch):
    obama = [strangers[n] for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]  # kept in this order: obama3 newest
    old_group = UnknownGroup.objects.create()
    Sighting.objects.filter(pk=obama[0].pk).update(unknown_group=old_group)  # the oldest, in a group of its own
    monkeypatch.setattr(sweep, "SWEEP_MAX_BLOCK", 2)
    result = sweep.sweep()
    # Two blocks of 3: Obama's photos, and biden.jpg with the twin photo's two faces; each leaves its oldest.
    assert result.largest_block == 3 and result.sightings_left == 2
    newest_two = groups_of(obama[1:])
    assert newest_two[0] == newest_two[1]  # re-clustered together
    assert groups_of(obama[:1]) == [old_group.pk]  # the older one left where it was, its group kept
    assert UnknownGroup.objects.filter(pk=old_group.pk).exists()
