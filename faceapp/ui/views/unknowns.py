"""Unknown groups, a group's sightings and corrections, and the search of the past, in the operator UI.

Thin views over enrollment.unknowns, .corrections and .sighting_search (the API's services): parse, one call,
render or redirect with a message. A correction refused by the services (a duplicate face, faces seen at the same
time, a sighting marked not this person) comes back as a message, never as an error page.
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from enrollment import correction_log, corrections, sighting_search, unknowns
from enrollment.estimates import EMOTION_CHOICES, GENDER_CHOICES
from enrollment.models import Person, Sighting, parse_label
from recognition.exceptions import FaceAppError
from recognition.uploads import read_upload

from ..access import actor, staff_required


class EnrolGroupForm(forms.Form):
    name = forms.CharField(max_length=200)
    birthdate = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class AddToPersonForm(forms.Form):
    person = forms.ModelChoiceField(queryset=Person.objects.order_by("name")[:0], label="Person")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.order_by("name")


class MergeForm(forms.Form):
    other = forms.CharField(max_length=20, label="Merge with group", help_text="U-000123")


class SearchForm(forms.Form):
    image = forms.ImageField(label="Photo")
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    gender = forms.ChoiceField(required=False, choices=[("", "any gender"), *GENDER_CHOICES], label="Estimated gender")
    age_min = forms.IntegerField(required=False, min_value=0, max_value=150, label="Estimated age from")
    age_max = forms.IntegerField(required=False, min_value=0, max_value=150, label="Estimated age to")
    emotion = forms.ChoiceField(required=False, choices=[("", "any emotion"), *EMOTION_CHOICES], label="Estimated emotion")

    def attribute_filters(self) -> dict:
        data = self.cleaned_data
        return {k: data[k] for k in ("gender", "age_min", "age_max", "emotion") if data.get(k) not in (None, "")}


def _group_or_404(group_id):
    try:
        return unknowns.get_group(group_id)
    except FaceAppError as exc:
        raise Http404(str(exc)) from exc


@staff_required
def unknown_list(request):
    page = Paginator(unknowns.listed_groups(), 48).get_page(request.GET.get("page"))
    groups = [(group, unknowns.best_shots(group.pk, limit=3)) for group in page]
    return render(request, "ui/unknown_list.html", {"page": page, "groups": groups})


@staff_required
def unknown_detail(request, group_id):
    group = _group_or_404(group_id)
    page = Paginator(Sighting.objects.filter(unknown_group=group).order_by("-seen_at"), 48).get_page(request.GET.get("page"))
    return render(request, "ui/unknown_detail.html", {
        "group": group, "shots": unknowns.best_shots(group.pk, limit=8), "page": page,
        "enrol_form": EnrolGroupForm(), "add_form": AddToPersonForm(), "merge_form": MergeForm(),
        "corrections": correction_log.of_group(group.label),
    })


def _correct(request, done, success: str, back):
    try:
        result = done()
    except FaceAppError as exc:
        messages.error(request, exc.message)
        return redirect(*back) if isinstance(back, tuple) else redirect(back)
    messages.success(request, success.format(result=result))
    return None


@staff_required
@require_POST
def unknown_enrol(request, group_id):
    form = EnrolGroupForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the person's name (and a valid birthdate, if any).")
        return redirect("ui:unknown", group_id=group_id)
    try:
        person = corrections.enrol_group(group_id, name=form.cleaned_data["name"], birthdate=form.cleaned_data["birthdate"],
                                         actor=actor(request))
    except FaceAppError as exc:
        messages.error(request, exc.message)
        return redirect("ui:unknown", group_id=group_id)
    messages.success(request, f"Enrolled {person.name} from the group.")
    return redirect("ui:person", person_id=person.id)  # (where Recent edits offers its undo)


@staff_required
@require_POST
def unknown_add(request, group_id):
    form = AddToPersonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick the person.")
        return redirect("ui:unknown", group_id=group_id)
    person = form.cleaned_data["person"]
    failed = _correct(request, lambda: corrections.add_group_to_person(group_id, person, actor=actor(request)),
                      "Added the group to {result.name}.", ("ui:unknown", group_id))
    return failed or redirect("ui:person", person_id=person.id)


@staff_required
@require_POST
def unknown_merge(request, group_id):
    other = parse_label(request.POST.get("other", ""))
    if other is None:
        messages.error(request, "Give the other group's id, such as U-000123.")
        return redirect("ui:unknown", group_id=group_id)
    _correct(request, lambda: corrections.merge_groups(group_id, other, actor=actor(request)),
             "Merged: {result.label} now holds both groups' sightings.", ("ui:unknown", group_id))
    return redirect("ui:unknown", group_id=group_id)


@staff_required
@require_POST
def unknown_not_person(request, group_id):
    """No sighting of the group is this enrolled person (remembered per sighting; adding the group to them is refused)."""
    group = _group_or_404(group_id)
    form = AddToPersonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick the person.")
        return redirect("ui:unknown", group_id=group.pk)
    person = form.cleaned_data["person"]
    corrections.group_not_person(group.pk, person, actor=actor(request))
    messages.success(request, f"Remembered: no face of {group.label} is {person.name}.")
    return redirect("ui:unknown", group_id=group.pk)


@staff_required
@require_POST
def unknown_delete(request, group_id):
    failed = _correct(request, lambda: corrections.erase_group(group_id, actor=actor(request)),
                      "Erased the group and its {result} sightings.", "ui:unknowns")
    return failed or redirect("ui:unknowns")


@staff_required
@require_POST
def sighting_not_group(request, sighting_id):
    sighting = Sighting.objects.filter(pk=sighting_id).first()
    if sighting is None:
        raise Http404
    back = ("ui:unknown", sighting.unknown_group_id) if sighting.unknown_group_id else "ui:unknowns"
    _correct(request, lambda: corrections.not_group(sighting, actor=actor(request)),
             "The face left the group (it is now in {result.label}).", back)
    return redirect(*back) if isinstance(back, tuple) else redirect(back)


@staff_required
def sighting_crop(request, sighting_id):
    sighting = Sighting.objects.filter(pk=sighting_id).first()
    if sighting is None or not sighting.crop:
        raise Http404
    try:
        response = FileResponse(sighting.crop.open("rb"), content_type="image/jpeg")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response["Cache-Control"] = "private, max-age=600"
    return response


@staff_required
def sightings_search(request):
    """Where and when was this face seen? A photo, an optional time range; the 50 most similar sightings."""
    form = SearchForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            vector, query = sighting_search.vector_of_image(read_upload(form.cleaned_data["image"]))
            result = sighting_search.search(vector, query=query, since=form.cleaned_data["since"],
                                            until=form.cleaned_data["until"], page_size=50, actor=actor(request),
                                            **form.attribute_filters())
        except FaceAppError as exc:
            messages.error(request, exc.message)
    return render(request, "ui/sightings_search.html", {"form": form, "result": result})



