import datetime as dt
import threading

import numpy as np
import pytest
import time_machine
from django.db import DataError, connection
from django_q.models import Schedule

from enrollment import file_journal, services, tasks
from enrollment import pending as pending_enrolments
from enrollment.models import Face, PendingEnrollment, Person
from recognition.exceptions import ExternalIdTaken, PendingEnrollmentNotFound
from tests.conftest import read_bytes


def pending_for(*parts) -> PendingEnrollment:
    recognition = services.recognise_user(read_bytes(*parts))
    assert recognition.pending is not None
    return recognition.pending


@pytest.mark.django_db(transaction=True)
def test_two_add_user_calls_racing_on_one_req_id_make_one_person(models_ready):
    req_id = pending_for("samples", "obama.jpg").req_id
    barrier = threading.Barrier(2)
    outcomes = []

    def enrol(name):
        try:
            barrier.wait()
            outcomes.append(services.enrol_person(name=name, birthdate=dt.date(1961, 8, 4), req_id=req_id, allow_duplicates=True))
        except Exception as exc:  # collected and checked below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enrol, args=(f"racer {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    people = [o for o in outcomes if isinstance(o, Person)]
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(people) == 1 and len(errors) == 1, outcomes
    assert isinstance(errors[0], PendingEnrollmentNotFound)
    assert Person.objects.count() == 1 and Face.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_enrolments_of_one_new_face_racing_make_one_person(models_ready):
    photos = [read_bytes("samples", "obama.jpg"), read_bytes("samples", "obama-480p.jpg")]
    barrier = threading.Barrier(2)
    outcomes = []

    def enrol(image):
        try:
            barrier.wait()
            outcomes.append(services.enrol_person(name="Obama", birthdate=None, image=image))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enrol, args=(photo,)) for photo in photos]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Person.objects.count() == 1, outcomes
    assert sum(isinstance(o, Exception) and getattr(o, "error_code", None) == "duplicate_face" for o in outcomes) == 1


@pytest.mark.django_db
def test_a_failure_while_storing_a_face_leaves_no_row_and_no_files(models_ready, media_in_tmp):
    person = Person.objects.create(name="Obama")
    sample = services.sample_from_image(read_bytes("samples", "obama.jpg"))
    broken = services.FaceSample(**{**sample.__dict__, "embedding": np.zeros(3, dtype=np.float32)})  # wrong size: the INSERT fails
    with pytest.raises(DataError):
        services.add_face(person, broken)
    assert Face.objects.count() == 0
    assert not [p for p in media_in_tmp.rglob("*") if p.is_file()]


@pytest.mark.django_db
def test_a_refused_enrolment_keeps_the_req_id_and_writes_nothing(models_ready, media_in_tmp):
    Person.objects.create(name="Someone", external_id="EMP-1")
    pending = pending_for("samples", "obama.jpg")
    with pytest.raises(ExternalIdTaken):
        services.enrol_person(name="Obama", birthdate=None, external_id="EMP-1", req_id=pending.req_id)
    assert Person.objects.count() == 1 and Face.objects.count() == 0
    assert PendingEnrollment.objects.filter(req_id=pending.req_id).exists()
    assert not [p for p in media_in_tmp.rglob("*") if p.is_file()]


@pytest.mark.django_db
def test_expired_pending_enrolments_are_deleted_by_the_sweep(models_ready):
    with time_machine.travel("2026-03-01 08:00:00+00:00", tick=False):
        old = pending_for("samples", "obama.jpg")
    with time_machine.travel("2026-03-01 08:10:00+00:00", tick=False):
        fresh = pending_for("samples", "biden.jpg")
    with time_machine.travel("2026-03-01 08:16:00+00:00", tick=False):
        assert tasks.delete_expired_pending_enrollments() == 1
    assert list(PendingEnrollment.objects.values_list("req_id", flat=True)) == [fresh.req_id]
    assert not PendingEnrollment.objects.filter(req_id=old.req_id).exists()


@pytest.mark.django_db
def test_the_expiry_sweep_is_scheduled_by_a_migration():
    schedule = Schedule.objects.get(func="enrollment.tasks.delete_expired_pending_enrollments")
    assert schedule.repeats == -1 and schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1


@pytest.mark.django_db
def test_deleting_a_face_deletes_its_files(models_ready, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    person = services.enrol_person(name="Biden", birthdate=None, image=read_bytes("samples", "biden.jpg"))
    face = person.faces.get()
    names = [face.crop.name, face.thumbnail.name, face.source_image.name]
    assert all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        person.delete()
    assert not any(default_storage.exists(n) for n in names)


@pytest.mark.django_db
def test_files_journaled_by_a_dead_import_are_deleted_unless_a_row_points_at_them(models_ready, tmp_path):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    person = Person.objects.create(name="Obama")
    journal = file_journal.FileJournal(tmp_path / "journals")
    face = services.add_face(person, services.sample_from_image(read_bytes("samples", "obama.jpg")), journal=journal)
    orphan = default_storage.save("faces/crops/xx/orphan.jpg", ContentFile(b"written, then the process died"))
    journal.will_write(orphan)
    assert file_journal.FileJournal.recover(tmp_path / "journals") == 0  # a live import's journal is left alone
    journal._file.close()  # the process dies: its lock goes, the journal stays

    assert file_journal.FileJournal.recover(tmp_path / "journals") == 1
    assert not default_storage.exists(orphan)
    assert all(default_storage.exists(name) for name in (face.crop.name, face.thumbnail.name, face.source_image.name))
    assert not list((tmp_path / "journals").iterdir())


# --- Held faces (the operator UI's enrol page) ---------------------------------------------------


@pytest.mark.django_db
def test_hold_faces_holds_every_face_of_a_photo_as_a_pending_enrolment_largest_first(models_ready):
    held = pending_enrolments.hold_faces(read_bytes("samples", "two_people.jpg"))
    assert len(held.faces) == 2 and (held.width, held.height) == (1400, 800)
    areas = [h.face.detection.area for h in held.faces]
    assert areas == sorted(areas, reverse=True)
    assert {p.req_id for p in pending_enrolments.pending_enrolments()} == {h.pending.req_id for h in held.faces}
    assert all(h.problems == [] for h in held.faces)


@pytest.mark.django_db
def test_hold_faces_of_a_photo_without_a_face_holds_nothing(models_ready):
    from PIL import Image
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), (90, 140, 200)).save(buffer, format="JPEG")
    assert pending_enrolments.hold_faces(buffer.getvalue()).faces == []
    assert not PendingEnrollment.objects.exists()


@pytest.mark.django_db
def test_enrol_from_pending_makes_one_person_with_every_picked_face_and_consumes_them(models_ready):
    first = pending_enrolments.hold_faces(read_bytes("samples", "obama.jpg")).faces[0].pending
    second = pending_enrolments.hold_faces(read_bytes("samples", "obama2.jpg")).faces[0].pending
    person = services.enrol_from_pending([first.req_id, second.req_id], name="Barack Obama", birthdate=None, email="B@Example.org")
    assert person.faces.count() == 2 and person.email == "b@example.org"
    assert not PendingEnrollment.objects.exists()


@pytest.mark.django_db
def test_enrol_from_pending_with_an_expired_second_face_stores_nothing(models_ready):
    first = pending_enrolments.hold_faces(read_bytes("samples", "obama.jpg")).faces[0].pending
    second = pending_enrolments.hold_faces(read_bytes("samples", "obama2.jpg")).faces[0].pending
    PendingEnrollment.objects.filter(req_id=second.req_id).update(expires_at=second.created_at - dt.timedelta(seconds=1))
    with pytest.raises(PendingEnrollmentNotFound):
        services.enrol_from_pending([first.req_id, second.req_id], name="Barack Obama", birthdate=None)
    assert not Person.objects.exists() and not Face.objects.exists()
    assert PendingEnrollment.objects.filter(req_id=first.req_id).exists()


@pytest.mark.django_db
def test_discard_pending_deletes_it_and_an_unknown_req_id_is_not_found(models_ready):
    pending = pending_enrolments.hold_faces(read_bytes("samples", "biden.jpg")).faces[0].pending
    pending_enrolments.discard_pending(pending.req_id)
    assert not PendingEnrollment.objects.exists()
    with pytest.raises(PendingEnrollmentNotFound):
        pending_enrolments.discard_pending(pending.req_id)
    with pytest.raises(PendingEnrollmentNotFound):
        pending_enrolments.get_pending(pending.req_id)
