"""'Who is this?': every face of a photo, the decision on it in words, and one-click actions on it.

The actions of a face (`face_actions`) are listed in one place: issue 15's corrections ('not this person',
merge, move) and unknown groups are added beside these, in `face_actions` and `templates/ui/_who_actions.html`.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from enrollment import people
from recognition.exceptions import FaceAppError

from .. import services as ui
from ..access import actor, staff_required
from ..forms import AddFacesForm, PhotoForm


@dataclass(frozen=True)
class Action:
    key: str  # add_to_person, enrol_new, keep_unknown (issue 15: not_this_person, ...)
    label: str
    url: str
    method: str = "post"  # post: a form with the face's req_id; get: a link
    style: str = ""  # button class: "" (main), "plain"
    hint: str = ""


def face_actions(face) -> list[Action]:
    """What an operator can do with one face of 'Who is this?', in the order offered."""
    found = []
    person = face.addable_to
    if person is not None:
        sure = face.decision.named
        found.append(Action("add_to_person", f"Add to {person.name}", reverse("ui:who-add", args=[person.id]),
                            style="" if sure else "plain",
                            hint="" if sure else "Not named at this preset: add only if you know it is them."))
    found.append(Action("enrol_new", "Enrol as new person", f"{reverse('ui:enrol')}?req_id={face.req_id}", method="get",
                        style="" if person is None else "plain"))
    if not face.decision.named:
        found.append(Action("keep_unknown", "Keep as unknown", reverse("ui:pending-keep", args=[face.req_id]), style="plain",
                            hint="Held as a pending enrolment for days instead of minutes, and kept among the unknown people."))
    return found


@staff_required
def who(request):
    form = PhotoForm(request.POST or None, request.FILES or None)
    result = policy = None
    if request.method == "POST" and form.is_valid():
        try:
            result, policy = ui.who_is_this(form.cleaned_data["photo"], preset=form.cleaned_data.get("preset") or None,
                                            watchlists=form.cleaned_data.get("watchlists") or (), actor=actor(request))
        except FaceAppError as exc:
            form.add_error("photo", exc.message)
    faces = [(face, face_actions(face)) for face in result.faces] if result else []
    status = 400 if request.method == "POST" and result is None else 200
    return render(request, "ui/who.html", {"form": form, "result": result, "faces": faces, "policy": policy}, status=status)


@staff_required
@require_POST
def who_add(request, person_id):
    """'Add to this person' from 'Who is this?': the face (its req_id) with the duplicate check of adding faces."""
    person = people.get_person(person_id)
    req_ids = request.POST.getlist("req_id")
    form = AddFacesForm(request.POST, req_ids=req_ids)
    if not form.is_valid():
        return redirect("ui:who")
    added, refusals = ui.add_held_faces(person, form.cleaned_data["req_id"], reviewed=form.reviewed_reasons(), actor=actor(request))
    if added:
        messages.success(request, f"Added the face to {person.name}.")
        return redirect("ui:person", person_id=person.id)
    left = [r.req_id for r in refusals]
    form = AddFacesForm(initial={"shown": " ".join(left), "req_id": left}, req_ids=left)
    return render(request, "ui/person_add.html", {"person": person, "form": form, "refusals": refusals,
                                                  "held": ui.held_faces(left, person=person)}, status=409)
