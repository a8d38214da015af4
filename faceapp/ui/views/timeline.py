"""A timeline: every sighting of a person (or of an unknown group), newest first, a page at a time, filtered by camera
and time range; and "not this person" on one of a person's sightings, with its *Undo* beside the timeline.

Thin views over enrollment.timeline (what the API's `GET /api/v1/people/<id>/sightings` reads), .corrections and
.correction_log (the API's services).
"""
from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from enrollment import correction_log, corrections, people, timeline, unknowns
from enrollment.models import Sighting
from recognition.exceptions import FaceAppError

from ..access import actor, browser_zone, safe_next, staff_required

PAGE_SIZE = 48
TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class TimelineFilter(forms.Form):
    camera = forms.ChoiceField(required=False, label="Camera")
    since = forms.DateTimeField(required=False, label="From", input_formats=TIME_FORMATS,
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, label="To", input_formats=TIME_FORMATS,
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, cameras: list[tuple[str, str]], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["camera"].choices = [("", "any camera or API key"), *cameras]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("“From” is after “To”.")
        return data

    def filters(self, zone: dt.tzinfo) -> dict:
        """The timeline's filters; times typed in the browser are in its zone."""
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        result = {"camera": data.get("camera") or None}
        for key in ("since", "until"):
            value = data.get(key)
            result[key] = value.replace(tzinfo=None).replace(tzinfo=zone) if value else None
        return result


def _render(request, *, person=None, group=None, corrections_list=()):
    form = TimelineFilter(timeline.cameras_of(person=person, group=group), request.GET or None)
    sightings = timeline.sightings_of(person=person, group=group, **form.filters(browser_zone(request)))
    page = Paginator(sightings, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "ui/timeline.html", {
        "person": person, "group": group, "form": form, "page": page, "query": params.urlencode(),
        "corrections": corrections_list,
    }, status=400 if form.is_bound and not form.is_valid() else 200)


@staff_required
def person_timeline(request, person_id):
    person = people.get_person(person_id)
    return _render(request, person=person, corrections_list=correction_log.of_person(person.id))


@staff_required
def group_timeline(request, group_id):
    try:
        group = unknowns.get_group(group_id)
    except FaceAppError as exc:
        raise Http404(str(exc)) from exc
    return _render(request, group=group, corrections_list=correction_log.of_group(group.label))


@staff_required
@require_POST
def sighting_not_person(request, sighting_id):
    """The sighting is not the person it is named as: it leaves them (remembered) and joins an unknown group."""
    sighting = Sighting.objects.select_related("person").filter(pk=sighting_id).first()
    if sighting is None:
        raise Http404("No such sighting (erased, or past its retention).")
    if sighting.person is None:
        messages.error(request, "This sighting names nobody.")
        return redirect("ui:unknowns")
    person = sighting.person
    try:
        corrections.not_person(sighting, actor=actor(request))
    except FaceAppError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Remembered: that sighting is not {person.name}; it is now in {sighting.unknown_group.label}.")
    return redirect(safe_next(request, reverse("ui:person-timeline", args=[person.id])))  # (the same page and filter)
