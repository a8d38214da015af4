"""The operator pages through Django's test client: access, forms, flags, deletions (real models, real database)."""
from __future__ import annotations

import re

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from enrollment.models import Face, PendingEnrollment, Person
from tests.conftest import read_bytes, upload


from .conftest import req_ids_on


# --- Access ------------------------------------------------------------------------------------


PAGES = ["ui:people", "ui:enrol", "ui:who", "ui:pending"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitor_is_sent_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_signed_in_user_who_is_not_staff_is_refused(client, django_user_model, name):
    client.force_login(django_user_model.objects.create_user("visitor", password="x"))
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "for staff accounts" in response.content.decode()


@pytest.mark.django_db
def test_login_page_refuses_a_user_who_is_not_staff(client, django_user_model):
    django_user_model.objects.create_user("visitor", password="a long pass phrase 1")
    response = client.post(reverse("login"), {"username": "visitor", "password": "a long pass phrase 1"})
    assert response.status_code == 200
    assert "staff account" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_staff_logs_in_and_lands_on_the_people_list(client, staff):
    response = client.post(reverse("login"), {"username": "operator", "password": "a long pass phrase 1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("ui:people")
    assert "People" in response.content.decode()


@pytest.mark.django_db
def test_logout_ends_the_session(operator):
    response = operator.post(reverse("logout"))
    assert response.status_code == 302
    assert operator.get(reverse("ui:people")).status_code == 302


@pytest.mark.django_db
def test_navigation_links_the_audit_log_and_api_keys_in_the_admin(operator):
    page = operator.get(reverse("ui:people")).content.decode()
    for url in ("/admin/audit/auditentry/", "/admin/apikeys/apikey/"):
        assert f'href="{url}"' in page


@pytest.mark.django_db
def test_home_page_links_the_operator_ui(client):
    assert f'href="{reverse("ui:people")}"' in client.get("/").content.decode()


# --- People ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_people_list_shows_each_person_with_a_thumbnail_and_searches_name_and_email(operator, cast):
    page = operator.get(reverse("ui:people")).content.decode()
    assert "Barack Obama" in page and "Joe Biden" in page
    first = cast.obama.faces.order_by("created_at").first()
    assert reverse("ui:face-thumbnail", args=[first.id]) in page
    by_email = operator.get(reverse("ui:people"), {"q": "BARACK@example"}).content.decode()
    assert "Barack Obama" in by_email and "Joe Biden" not in by_email
    by_name = operator.get(reverse("ui:people"), {"q": "bide"}).content.decode()
    assert "Joe Biden" in by_name and "Barack Obama" not in by_name


@pytest.mark.django_db
def test_people_list_filters_by_watchlist(operator, cast):
    page = operator.get(reverse("ui:people"), {"watchlist": cast.staff.id}).content.decode()
    assert "Barack Obama" in page and "Joe Biden" not in page


@pytest.mark.django_db
def test_face_thumbnail_is_a_jpeg_for_staff_only(client, operator, cast):
    face = cast.obama.faces.first()
    response = operator.get(reverse("ui:face-thumbnail", args=[face.id]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    client.logout()
    assert client.get(reverse("ui:face-thumbnail", args=[face.id])).status_code == 302


@pytest.mark.django_db
def test_person_page_shows_every_face_with_quality_and_date(operator, cast):
    page = operator.get(reverse("ui:person", args=[cast.obama.id])).content.decode()
    assert page.count('class="card face"') == 2
    assert page.count('class="badge good"') + page.count('class="badge fair"') + page.count('class="badge poor"') == 2
    assert "Delete face" in page


@pytest.mark.django_db
def test_person_page_saves_edited_fields(operator, cast):
    response = operator.post(reverse("ui:person", args=[cast.biden.id]), {
        "action": "edit", "name": "Joseph Biden", "email": "joe@example.org", "birthdate": "1942-11-20", "watchlists": [cast.staff.id],
    })
    assert response.status_code == 302
    person = Person.objects.get(id=cast.biden.id)
    assert (person.name, person.email, str(person.birthdate)) == ("Joseph Biden", "joe@example.org", "1942-11-20")
    assert list(person.watchlists.all()) == [cast.staff]


@pytest.mark.django_db
def test_person_page_shows_a_taken_email_next_to_the_field_and_keeps_what_was_typed(operator, cast):
    response = operator.post(reverse("ui:person", args=[cast.biden.id]), {"action": "edit", "name": "Typed Name", "email": "barack@example.org"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="Typed Name"' in page
    assert re.search(r'already enrolled.*?name="email"', page, re.S), "the error should sit at the email field"
    assert Person.objects.get(id=cast.biden.id).name == "Joe Biden"


@pytest.mark.django_db
def test_person_page_adds_photos_as_faces_after_showing_them(operator, cast):
    url = reverse("ui:person-add", args=[cast.biden.id])
    page = operator.post(url, {"action": "examine", "photos": [upload("samples", "biden_biden2.jpg")]}).content.decode()
    req_ids = req_ids_on(page)
    assert len(req_ids) == 1 and "checked" in page and cast.biden.faces.count() == 1  # shown and picked, not added yet
    response = operator.post(url, {"action": "add", "shown": " ".join(req_ids), "req_id": req_ids})
    assert response.status_code == 302 and response["Location"] == reverse("ui:person", args=[cast.biden.id])
    assert cast.biden.faces.count() == 2


@pytest.mark.django_db
def test_person_page_flags_the_photo_without_a_face_and_keeps_the_good_one(operator, cast, tmp_path):
    """Bug: one bad photo in a batch dropped the good ones."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (200, 200), (120, 160, 200)).save(blank)
    url = reverse("ui:person-add", args=[cast.biden.id])
    response = operator.post(url, {"action": "examine", "photos": [
        upload("samples", "biden_biden2.jpg"), SimpleUploadedFile("blank.jpg", blank.read_bytes(), content_type="image/jpeg"),
    ]})
    page = response.content.decode()
    assert response.status_code == 200 and "blank.jpg" in page and "No face found in this photo." in page
    req_ids = req_ids_on(page)
    operator.post(url, {"action": "add", "shown": " ".join(req_ids), "req_id": req_ids})
    assert cast.biden.faces.count() == 2


@pytest.mark.django_db
def test_deleting_a_person_asks_first_then_erases_their_files(operator, cast, django_capture_on_commit_callbacks):
    files = [f for face in cast.obama.faces.all() for f in (face.crop.name, face.thumbnail.name, face.source_image.name) if f]
    assert files and all(default_storage.exists(f) for f in files)
    confirm = operator.get(reverse("ui:person-delete", args=[cast.obama.id])).content.decode()
    assert "biometric data" in confirm and "cannot be undone" in confirm
    assert Person.objects.filter(id=cast.obama.id).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(reverse("ui:person-delete", args=[cast.obama.id]), follow=True)
    assert "Deleted Barack Obama" in response.content.decode()
    assert not Person.objects.filter(id=cast.obama.id).exists()
    assert not any(default_storage.exists(f) for f in files)


@pytest.mark.django_db
def test_deleting_a_face_asks_first_then_erases_its_files(operator, cast, django_capture_on_commit_callbacks):
    face = cast.obama.faces.first()
    files = [face.crop.name, face.thumbnail.name]
    confirm = operator.get(reverse("ui:face-delete", args=[cast.obama.id, face.id])).content.decode()
    assert "biometric data" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        assert operator.post(reverse("ui:face-delete", args=[cast.obama.id, face.id])).status_code == 302
    assert not Face.objects.filter(id=face.id).exists() and cast.obama.faces.count() == 1
    assert not any(default_storage.exists(f) for f in files)


@pytest.mark.django_db
def test_unknown_person_is_a_404(operator):
    assert operator.get(reverse("ui:person", args=["00000000-0000-0000-0000-000000000000"])).status_code == 404


# --- Enrol -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_enrol_page_boxes_each_face_with_its_quality_and_enrols_the_picked_one(operator, models_ready):
    response = operator.post(reverse("ui:enrol"), {"action": "examine", "photos": [upload("samples", "astronaut.jpg")]})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'src="data:image/jpeg;base64,' in page and "<rect " in page and "sharpness" in page
    req_ids = req_ids_on(page)
    assert len(req_ids) == 1 and "checked" in page  # the only good face is picked already
    response = operator.post(reverse("ui:enrol"), {
        "action": "enrol", "shown": " ".join(req_ids), "req_id": req_ids, "name": "Eileen Collins", "birthdate": "1956-11-19",
    })
    person = Person.objects.get(name="Eileen Collins")
    assert response.status_code == 302 and response["Location"] == reverse("ui:person", args=[person.id])
    assert person.faces.count() == 1 and not PendingEnrollment.objects.filter(req_id__in=req_ids).exists()


@pytest.mark.django_db
def test_enrol_page_flags_a_photo_without_a_face_and_one_that_is_not_an_image(operator, models_ready, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    blank = tmp_path / "sky.jpg"
    Image.new("RGB", (240, 240), (120, 160, 200)).save(blank)
    response = operator.post(reverse("ui:enrol"), {"action": "examine", "photos": [
        SimpleUploadedFile("sky.jpg", blank.read_bytes(), content_type="image/jpeg"),
        SimpleUploadedFile("notes.txt", b"not an image", content_type="text/plain"),
        upload("samples", "biden.jpg"),
    ]})
    page = response.content.decode()
    assert "sky.jpg" in page and "No face found in this photo." in page
    assert "notes.txt" in page and "not an image" in page
    assert len(req_ids_on(page)) == 1


@pytest.mark.django_db
def test_enrol_page_offers_every_face_of_a_group_photo_and_picks_none(operator, models_ready):
    page = operator.post(reverse("ui:enrol"), {"action": "examine", "photos": [upload("samples", "two_people.jpg")]}).content.decode()
    assert len(req_ids_on(page)) == 2
    assert page.count("<rect ") == 2
    assert "checked" not in page


@pytest.mark.django_db
def test_enrol_page_flags_a_poor_quality_face(operator, models_ready):
    page = operator.post(reverse("ui:enrol"), {"action": "examine", "photos": [upload("samples", "cameraman.jpg")]}).content.decode()
    assert "Poor quality: face 1." in page and "turned sideways" in page
    assert len(req_ids_on(page)) == 1  # flagged, still offered


@pytest.mark.django_db
def test_enrol_page_shows_field_errors_and_keeps_what_was_typed(operator, cast):
    page = operator.post(reverse("ui:enrol"), {"action": "examine", "photos": [upload("samples", "astronaut.jpg")]}).content.decode()
    req_ids = req_ids_on(page)
    response = operator.post(reverse("ui:enrol"), {
        "action": "enrol", "shown": " ".join(req_ids), "req_id": req_ids, "name": "Eileen Collins", "email": "barack@example.org",
        "birthdate": "not a date",
    })
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="Eileen Collins"' in page and "Enter a valid date." in page
    assert reverse("ui:pending-crop", args=[req_ids[0]]) in page  # the picked face is still shown
    response = operator.post(reverse("ui:enrol"), {
        "action": "enrol", "shown": " ".join(req_ids), "req_id": req_ids, "name": "Eileen Collins", "email": "barack@example.org",
    })
    page = response.content.decode()
    assert response.status_code == 400 and re.search(r'already enrolled.*?name="email"', page, re.S)
    assert not Person.objects.filter(name="Eileen Collins").exists()


@pytest.mark.django_db
def test_enrol_page_asks_to_pick_a_face(operator, models_ready):
    page = operator.post(reverse("ui:enrol"), {"action": "examine", "photos": [upload("samples", "two_people.jpg")]}).content.decode()
    response = operator.post(reverse("ui:enrol"), {"action": "enrol", "shown": " ".join(req_ids_on(page)), "name": "Someone"})
    assert response.status_code == 400 and "Pick at least one face." in response.content.decode()


@pytest.mark.django_db
def test_enrol_page_refuses_a_face_already_enrolled(operator, cast):
    page = operator.post(reverse("ui:enrol"), {"action": "examine", "photos": [upload("samples", "obama.jpg")]}).content.decode()
    req_ids = req_ids_on(page)
    response = operator.post(reverse("ui:enrol"), {"action": "enrol", "shown": " ".join(req_ids), "req_id": req_ids, "name": "Obama again"})
    page = response.content.decode()
    assert response.status_code == 409 and "already enrolled as\n    <a href=\"%s\">Barack Obama</a>" % reverse("ui:person", args=[cast.obama.id]) in page
    assert f"({cast.obama.id};" not in page  # named, not numbered


@pytest.mark.django_db
def test_enrol_page_enrols_one_person_from_faces_of_several_photos(operator, models_ready):
    page = operator.post(reverse("ui:enrol"), {"action": "examine", "photos": [
        upload("samples", "obama.jpg"), upload("samples", "obama3.jpg"),
    ]}).content.decode()
    req_ids = req_ids_on(page)
    assert len(req_ids) == 2
    operator.post(reverse("ui:enrol"), {"action": "enrol", "shown": " ".join(req_ids), "req_id": req_ids, "name": "Barack Obama"})
    assert Person.objects.get(name="Barack Obama").faces.count() == 2


# --- Who is this? ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_who_is_this_boxes_each_face_with_its_candidates(operator, cast):
    response = operator.post(reverse("ui:who"), {"photo": upload("samples", "obama_and_biden.jpg")})
    assert response.status_code == 200
    page = response.content.decode()
    faces = page.count('class="who-face"')
    assert faces >= 2 and page.count("<rect ") == faces  # the photo has more faces than these two
    assert "Barack Obama" in page and "Joe Biden" in page and "similarity" in page
    assert reverse("ui:person", args=[cast.obama.id]) in page


@pytest.mark.django_db
def test_who_is_this_offers_to_enrol_an_unknown_face(operator, cast):
    page = operator.post(reverse("ui:who"), {"photo": upload("samples", "astronaut.jpg")}).content.decode()
    assert "Enrol as new person" in page
    req_id = re.search(r"\?req_id=([0-9a-f]+)", page).group(1)
    enrol_page = operator.get(reverse("ui:enrol"), {"req_id": req_id}).content.decode()
    assert req_ids_on(enrol_page) == [req_id] and "checked" in enrol_page


@pytest.mark.django_db
def test_who_is_this_shows_an_unreadable_upload_as_a_field_error(operator, models_ready):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = operator.post(reverse("ui:who"), {"photo": SimpleUploadedFile("x.jpg", b"nope", content_type="image/jpeg")})
    assert response.status_code == 400 and "not an image" in response.content.decode()


# --- Pending enrolments ------------------------------------------------------------------------


@pytest.fixture
def held(models_ready):
    from enrollment import pending as pending_enrolments

    return pending_enrolments.hold_faces(read_bytes("samples", "biden.jpg")).faces[0].pending


@pytest.mark.django_db
def test_pending_list_shows_each_unexpired_face_with_its_crop_and_expiry(operator, held):
    page = operator.get(reverse("ui:pending")).content.decode()
    assert held.req_id in page and reverse("ui:pending-crop", args=[held.req_id]) in page
    crop = operator.get(reverse("ui:pending-crop", args=[held.req_id]))
    assert crop.status_code == 200 and crop.content[:2] == b"\xff\xd8"


@pytest.mark.django_db
def test_pending_list_hides_expired_faces(operator, held):
    import datetime as dt

    PendingEnrollment.objects.filter(req_id=held.req_id).update(expires_at=held.created_at - dt.timedelta(seconds=1))
    assert held.req_id not in operator.get(reverse("ui:pending")).content.decode()


@pytest.mark.django_db
def test_discarding_a_pending_enrolment_deletes_it(operator, held):
    assert operator.get(reverse("ui:pending-discard", args=[held.req_id])).status_code == 405
    assert operator.post(reverse("ui:pending-discard", args=[held.req_id])).status_code == 302
    assert not PendingEnrollment.objects.filter(req_id=held.req_id).exists()


# --- Error pages -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_missing_page_is_the_styled_404_with_the_menu(operator):
    response = operator.get("/ui/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404 and "<h1>Not found</h1>" in page and "/static/faceapp/ui.css" in page
    assert 'href="/ui/events/"' in page  # the operator's menu


@pytest.mark.django_db
def test_a_server_error_outside_the_api_is_the_styled_500_without_details(rf):
    from faceapp.api import handler500

    response = handler500(rf.get("/ui/people/"))
    page = response.content.decode()
    assert response.status_code == 500 and "Something went wrong" in page and "/static/faceapp/ui.css" in page
    assert "Traceback" not in page
