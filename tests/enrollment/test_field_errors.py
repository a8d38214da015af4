"""Operators' corrections counted as errors observed in the field (enrollment.field_errors, `evaluate --corrections`),
with real sightings (the identify path) and real corrections (enrollment.corrections, enrollment.undo)."""
import io

import pytest
from django.core.management import call_command

from enrollment import corrections, field_errors, services, undo
from enrollment.models import Sighting
from faceapp.audit.models import AuditEntry
from tests.enrollment.sighting_photos import keep


def test_not_this_person_on_a_recognised_sighting_is_an_observed_false_accept_until_undone(cast):
    wrong, right = keep("obama3.jpg")[0], keep("obama-480p.jpg")[0]
    assert wrong.verdict == right.verdict == "named"
    corrections.not_person(wrong)
    figures = field_errors.field_errors()
    assert (figures.total.recognised, figures.total.false_accepts) == (2, 1)
    assert figures.total.false_accept_share == 0.5
    [api] = figures.places
    assert api.place == "API" and api.false_accepts == 1
    undo.undo(AuditEntry.objects.get(action="sighting.not_person").pk)
    assert field_errors.field_errors().total.false_accepts == 0


def test_unknown_sightings_given_to_a_person_enrolled_before_them_are_observed_misses(db, models_ready):
    eileen = services.create_person(name="Eileen Collins")  # enrolled (without a usable face) before she is seen
    seen = keep("astronaut.jpg")[0]
    late = keep("cameraman.jpg")[0]  # seen before his record exists: giving him his group is no miss
    cameraman = services.create_person(name="The cameraman")
    assert seen.verdict == late.verdict == "unknown"
    corrections.add_group_to_person(seen.unknown_group_id, eileen)
    corrections.add_group_to_person(late.unknown_group_id, cameraman)
    figures = field_errors.field_errors()
    assert (figures.total.unknown, figures.total.misses, figures.groups_given_to_people) == (2, 1, 1)
    assert figures.total.miss_share == 0.5 and figures.total.recognised == 0
    assert Sighting.objects.get(pk=seen.pk).person_id == eileen.id


def test_a_group_enrolled_as_a_new_person_is_not_a_miss(db, models_ready):
    seen = keep("astronaut.jpg")[0]
    corrections.enrol_group(seen.unknown_group_id, name="Eileen Collins")
    figures = field_errors.field_errors()
    assert (figures.total.misses, figures.groups_enrolled) == (0, 1)


def test_evaluate_corrections_prints_the_figures_without_a_photo_folder(cast):
    wrong = keep("obama3.jpg")[0]
    keep("astronaut.jpg")
    corrections.not_person(wrong)
    out = io.StringIO()
    call_command("evaluate", "--corrections", "--since", "7", stdout=out)
    text = out.getvalue()
    assert "Observed false accepts: 1 of 1 recognised sightings (100.00%)" in text
    assert "Observed misses: 0 of 1 unknown sightings (0.00%)" in text  # the astronaut (the corrected one was recognised)
    assert "all sources" in text and "API" in text


def test_evaluate_wants_a_folder_or_corrections(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--corrections"):
        call_command("evaluate")
