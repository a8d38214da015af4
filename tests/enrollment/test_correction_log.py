"""The corrections a page offers to undo (enrollment.correction_log): those of a group, of a person, of an event."""
from enrollment import correction_log, corrections, undo
from faceapp.audit.models import AuditEntry
from tests.enrollment.sighting_photos import keep


def actions(entries):
    return [e.action for e in entries]


def test_a_groups_corrections_are_listed_newest_first_until_undone(db, models_ready):
    from enrollment import services

    biden = services.create_person(name="Joe Biden")  # (enrolled without a face: nobody is named)
    seen = [keep(n)[0] for n in ("obama.jpg", "obama2.jpg")]
    astronaut = keep("astronaut.jpg")[0]
    label = seen[0].unknown_group.label
    corrections.merge_groups(seen[0].unknown_group_id, astronaut.unknown_group_id)
    corrections.not_group(astronaut.__class__.objects.get(pk=astronaut.pk))
    corrections.group_not_person(seen[0].unknown_group_id, biden)
    listed = correction_log.of_group(label)
    assert actions(listed) == ["group.not_person", "sighting.not_group", "group.merge"]
    assert listed[0].summary == f"unknown group: not this person ({label} is not Joe Biden)"
    assert listed[2].summary.startswith("unknown groups merged (U-") and listed[2].summary.endswith(f"into {label})")
    joined = AuditEntry.objects.get(action="sighting.not_group").details["joined"]
    assert actions(correction_log.of_group(joined)) == ["sighting.not_group"]  # (the group the face joined lists it too)
    undo.undo(listed[0].pk)
    assert actions(correction_log.of_group(label)) == ["sighting.not_group", "group.merge"]


def test_a_persons_list_holds_their_edits_and_the_corrections_that_named_them_or_said_not_them(cast):
    named = keep("obama3.jpg")[0]
    corrections.not_person(named)
    group = keep("astronaut.jpg")[0].unknown_group_id
    eileen = corrections.enrol_group(group, name="Eileen Collins")
    assert actions(correction_log.of_person(cast.obama.id)) == ["sighting.not_person"]
    assert correction_log.of_person(cast.obama.id)[0].summary == "sighting: not this person (a sighting is not Barack Obama)"
    assert actions(correction_log.of_person(eileen.id)) == ["group.enrol"]
    assert actions(correction_log.of_person(cast.biden.id)) == []


def test_erasures_are_never_offered_for_undo(db, models_ready):
    seen = keep("astronaut.jpg")[0]
    label = seen.unknown_group.label
    corrections.erase_group(seen.unknown_group_id)
    assert AuditEntry.objects.filter(action="group.delete", target_id=label).exists()
    assert correction_log.of_group(label) == []
