"""Merging, splitting and moving enrolled people from their page, and undoing it (Django's test client)."""
import pytest
from django.urls import reverse

from enrollment import services
from enrollment.models import Face, Person
from faceapp.audit.models import AuditEntry
from tests.conftest import read_bytes


def face_of(person, name):
    return services.add_face(person, services.sample_from_image(read_bytes("samples", name), source_name=name),
                             check_duplicates=False)


@pytest.fixture
def mixed(cast):
    """Obama's record holds a face of the astronaut by mistake."""
    wrong = face_of(cast.obama, "astronaut.jpg")
    return cast.obama, wrong


def test_the_person_page_offers_split_move_and_merge_with_csrf_protected_forms(operator, mixed):
    obama, wrong = mixed
    page = operator.get(reverse("ui:person", args=[obama.id])).content.decode()
    for form in ('id="edit-faces"', 'id="merge-person"', f'name="faces" value="{wrong.id}" form="edit-faces"',
                 'value="split"', 'value="move"', "Joe Biden"):
        assert form in page
    assert page.count("csrfmiddlewaretoken") >= 3


def test_the_forms_refuse_a_post_without_the_csrf_token(staff, mixed):
    from django.test import Client

    obama, wrong = mixed
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    response = strict.post(reverse("ui:person-faces", args=[obama.id]), {"faces": [str(wrong.id)], "action": "split", "name": "X"})
    assert response.status_code == 403 and Face.objects.get(pk=wrong.pk).person_id == obama.id


def test_splitting_chosen_faces_off_makes_a_new_person_and_can_be_undone(operator, mixed):
    obama, wrong = mixed
    response = operator.post(reverse("ui:person-faces", args=[obama.id]),
                             {"faces": [str(wrong.id)], "action": "split", "name": "Eileen Collins"}, follow=True)
    assert response.status_code == 200 and "Split 1 face off into Eileen Collins." in response.content.decode()
    eileen = Person.objects.get(name="Eileen Collins")
    assert list(eileen.faces.values_list("id", flat=True)) == [wrong.id] and obama.faces.count() == 2
    entry = AuditEntry.objects.get(action="person.split", username="operator")
    page = response.content.decode()
    assert reverse("ui:correction-undo", args=[entry.pk]) in page  # "Recent edits" offers the undo
    undone = operator.post(reverse("ui:correction-undo", args=[entry.pk]), {"next": reverse("ui:person", args=[obama.id])},
                           follow=True)
    assert "Undone: faces split off into a new person." in undone.content.decode()
    assert Face.objects.get(pk=wrong.pk).person_id == obama.id and not Person.objects.filter(pk=eileen.pk).exists()
    assert reverse("ui:correction-undo", args=[entry.pk]) not in undone.content.decode()


def test_a_split_without_a_name_or_without_faces_is_refused_with_a_message(operator, mixed):
    obama, wrong = mixed
    no_name = operator.post(reverse("ui:person-faces", args=[obama.id]), {"faces": [str(wrong.id)], "action": "split"}, follow=True)
    assert "Give the new person&#x27;s name." in no_name.content.decode()
    no_face = operator.post(reverse("ui:person-faces", args=[obama.id]), {"action": "split", "name": "X"}, follow=True)
    assert "Choose at least one face." in no_face.content.decode()
    assert Person.objects.count() == 2


def test_moving_a_face_to_another_person(operator, mixed, cast):
    obama, wrong = mixed
    response = operator.post(reverse("ui:person-faces", args=[obama.id]),
                             {"faces": [str(wrong.id)], "action": "move", "to": str(cast.biden.id)}, follow=True)
    assert "Moved the face to Joe Biden." in response.content.decode()
    assert Face.objects.get(pk=wrong.pk).person_id == cast.biden.id
    assert AuditEntry.objects.filter(action="face.move", target_id=str(wrong.id), username="operator").exists()
    two = operator.post(reverse("ui:person-faces", args=[obama.id]),
                        {"faces": [str(f.id) for f in obama.faces.all()], "action": "move", "to": str(cast.biden.id)}, follow=True)
    assert "Choose one face" in two.content.decode() and obama.faces.count() == 2


def test_merging_a_person_into_another_and_undoing_it_from_the_other_persons_page(operator, cast):
    twin = services.create_person(name="B. Obama")
    twin_face = face_of(twin, "obama3.jpg")
    response = operator.post(reverse("ui:person-merge", args=[twin.id]), {"into": str(cast.obama.id)}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("ui:person", args=[cast.obama.id])
    assert "Merged B. Obama into Barack Obama" in response.content.decode()
    assert not Person.objects.filter(pk=twin.pk).exists() and Face.objects.get(pk=twin_face.pk).person_id == cast.obama.id
    entry = AuditEntry.objects.get(action="person.merge", username="operator")
    assert "people merged (B. Obama)" in response.content.decode()
    assert f'<time datetime="{entry.at.isoformat().replace("+00:00", "Z")}"' in response.content.decode()  # when, in Recent edits
    operator.post(reverse("ui:correction-undo", args=[entry.pk]), {"next": reverse("ui:person", args=[cast.obama.id])})
    assert Person.objects.get(pk=twin.pk).name == "B. Obama" and Face.objects.get(pk=twin_face.pk).person_id == twin.id


def test_a_person_cannot_be_merged_into_themselves(operator, cast):
    response = operator.post(reverse("ui:person-merge", args=[cast.obama.id]), {"into": str(cast.obama.id)}, follow=True)
    assert "Select a valid choice" in response.content.decode() and Person.objects.filter(pk=cast.obama.pk).exists()


def test_an_undo_that_cannot_be_done_says_why(operator, mixed, cast):
    obama, wrong = mixed
    operator.post(reverse("ui:person-faces", args=[obama.id]), {"faces": [str(wrong.id)], "action": "move", "to": str(cast.biden.id)})
    Face.objects.filter(pk=wrong.pk).delete()
    entry = AuditEntry.objects.get(action="face.move")
    response = operator.post(reverse("ui:correction-undo", args=[entry.pk]), {"next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/ui/people/"
    assert "deleted or moved again since" in response.content.decode()
