"""Edits of an enrolled person from their page: merge them into another person, split chosen faces off into a new
person, move a face to another person, and undo such an edit.

Thin views over enrollment.identity_edits and enrollment.undo (the API's services): parse a form, one call,
redirect with a message. A refusal of the services comes back as a message on the person's page.
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from enrollment import identity_edits, people, undo
from enrollment.models import Face, Person, parse_label
from faceapp.audit.models import Action
from recognition.exceptions import FaceAppError

from ..access import actor, safe_next, staff_required


class _OtherPersonField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.email})" if obj.email else obj.name


def _others(person: Person):
    return Person.objects.exclude(pk=person.pk).order_by("name", "created_at")


class MergeIntoForm(forms.Form):
    into = _OtherPersonField(queryset=Person.objects.none(), label="Merge into", empty_label="Pick the person…")

    def __init__(self, person: Person, *args, **kwargs):
        super().__init__(*args, auto_id="merge_%s", **kwargs)  # (ids apart from the person's details form on the page)
        self.fields["into"].queryset = _others(person)


class FaceEditForm(forms.Form):
    """The faces chosen on the person's page (checkboxes under their thumbnails), and what to do with them."""

    faces = forms.ModelMultipleChoiceField(queryset=Face.objects.none(), error_messages={"required": "Choose at least one face."})
    name = forms.CharField(max_length=200, required=False, label="New person's name")
    to = _OtherPersonField(queryset=Person.objects.none(), required=False, label="Move to", empty_label="Pick the person…")

    def __init__(self, person: Person, *args, **kwargs):
        super().__init__(*args, auto_id="faces_%s", **kwargs)
        self.fields["faces"].queryset = Face.objects.filter(person=person)
        self.fields["to"].queryset = _others(person)


def person_edit_forms(person: Person) -> dict:
    """The unbound forms the person's page shows."""
    return {"merge_form": MergeIntoForm(person), "face_form": FaceEditForm(person)}


def _first_error(form: forms.Form) -> str:
    return next(iter(e for errors in form.errors.values() for e in errors), "Check the form.")


@staff_required
@require_POST
def person_merge(request, person_id):
    person = people.get_person(person_id)
    form = MergeIntoForm(person, request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("ui:person", person_id=person.id)
    into = form.cleaned_data["into"]
    try:
        identity_edits.merge_people(into, person, actor=actor(request))
    except FaceAppError as exc:
        messages.error(request, exc.message)
        return redirect("ui:person", person_id=person.id)
    messages.success(request, f"Merged {person.name} into {into.name}: their faces, sightings and events are now {into.name}'s.")
    return redirect("ui:person", person_id=into.id)


@staff_required
@require_POST
def person_faces(request, person_id):
    """`action=split`: the chosen faces become a new person (named); `action=move`: the one chosen face is another's."""
    person = people.get_person(person_id)
    form = FaceEditForm(person, request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("ui:person", person_id=person.id)
    faces = list(form.cleaned_data["faces"])
    action = request.POST.get("action")
    try:
        if action == "split":
            name = form.cleaned_data["name"].strip()
            if not name:
                messages.error(request, "Give the new person's name.")
                return redirect("ui:person", person_id=person.id)
            new = identity_edits.split_person(person, [f.id for f in faces], name=name, actor=actor(request))
            messages.success(request, f"Split {len(faces)} face{'s' if len(faces) != 1 else ''} off into {new.name}.")
            return redirect("ui:person", person_id=person.id)
        if action == "move":
            to = form.cleaned_data["to"]
            if to is None or len(faces) != 1:
                messages.error(request, "Choose one face and the person to move it to.")
                return redirect("ui:person", person_id=person.id)
            identity_edits.move_face(faces[0], to, actor=actor(request))
            messages.success(request, f"Moved the face to {to.name}.")
            return redirect("ui:person", person_id=person.id)
    except FaceAppError as exc:
        messages.error(request, exc.message)
        return redirect("ui:person", person_id=person.id)
    messages.error(request, "Split or move?")
    return redirect("ui:person", person_id=person.id)


@staff_required
@require_POST
def correction_undo(request, entry_id):
    """Undo an edit or correction by its audit entry; back to the page named by `next` (a path of this UI), or to the
    unknown group given back by undoing its enrolment (the person's page may be gone with it)."""
    back = safe_next(request, "/ui/people/")
    try:
        done = undo.undo(entry_id, actor=actor(request))
    except undo.NoSuchEntry as exc:
        raise Http404(exc.message) from exc
    except FaceAppError as exc:
        messages.error(request, f"Not undone: {exc.message}")
        return redirect(back)
    messages.success(request, undone_message(done.details))
    if done.details["undone"] in (Action.GROUP_ENROL, Action.GROUP_ADD_TO_PERSON):
        return redirect("ui:unknown", group_id=parse_label(done.details["restored"]))
    return redirect(back)


def undone_message(details: dict) -> str:
    """What the undo did, from its audit entry's details (enrollment.undo's summary)."""
    said = [f"Undone: {Action(details['undone']).label}."]
    if details["undone"] in (Action.GROUP_ENROL, Action.GROUP_ADD_TO_PERSON, Action.GROUP_MERGE):
        n = details.get("sightings", 0)
        said.append(f"{details['restored']} is back with {n} sighting{'s' if n != 1 else ''}.")
    if details.get("faces_deleted"):
        said.append(f"The {details['faces_deleted']} face{'s' if details['faces_deleted'] != 1 else ''} it gave were deleted.")
    if details.get("person_deleted"):
        said.append("The person made from it was deleted.")
    if details["undone"] == Action.SIGHTING_NOT_GROUP:
        said.append(f"The face is back in {details['unknown_group']}.")
    if details.get("named_again"):
        said.append("It is named again.")
    if details.get("forgotten"):
        n = details["forgotten"]
        said.append(f"{n} sighting{'s are' if n != 1 else ' is'} no longer marked as not them.")
    return " ".join(said)
