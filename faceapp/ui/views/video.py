"""Cameras (with live status, a test connection and a fresh snapshot), rules (with their webhook delivery
log), events (filtered, live, each with its frame and crop) and the dashboard."""
from __future__ import annotations

import base64

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from enrollment import pending as pending_enrolments
from enrollment.models import Person
from faceapp.queue import queue_depth
from recognition.exceptions import FaceAppError
from videostreams import cameras, corrections, stats
from videostreams.models import Camera, Event, Rule
from videostreams.views import event_image_response

from ..access import actor, browser_zone, staff_required
from ..previews import box_percent
from ..video_forms import CameraForm, EventFilter, RuleForm

EVENTS_PAGE_SIZE = 50


# --- Dashboard --------------------------------------------------------------------------------------


def _dashboard_context(request) -> dict:
    return {
        "today": stats.today(zone=browser_zone(request)),
        "health": stats.camera_health(),
        "queue": queue_depth(),
        "people": Person.objects.count(),
        "pending": pending_enrolments.pending_enrolments().count(),
        "latest": Event.objects.select_related("camera", "person").order_by("-first_seen")[:8],
        "now": timezone.now(),
    }


@staff_required
def dashboard(request):
    return render(request, "ui/dashboard.html", _dashboard_context(request))


@staff_required
def dashboard_live(request):
    return render(request, "ui/_dashboard_live.html", _dashboard_context(request))


# --- Cameras ----------------------------------------------------------------------------------------


@staff_required
def camera_list(request):
    return render(request, "ui/camera_list.html", {"health": stats.camera_health()})


@staff_required
def camera_list_live(request):
    return render(request, "ui/_camera_rows.html", {"health": stats.camera_health()})


@staff_required
def camera_edit(request, camera_id=None):
    """Add or edit a camera; 'Test connection' opens the typed source once and shows its first frame."""
    camera = get_object_or_404(Camera, pk=camera_id) if camera_id else None
    form = CameraForm(request.POST or None, instance=camera)
    probe = None
    if request.method == "POST" and request.POST.get("action") == "test":
        # The masked source the page showed stands for the stored one (the password never reaches the page).
        probe = cameras.probe(form.unmask("source", request.POST.get("source", "")))
    elif request.method == "POST" and form.is_valid():
        camera = form.save()
        messages.success(request, f"Saved the camera {camera.name}; a running run_cameras picks the change up within seconds.")
        return redirect("ui:camera", camera_id=camera.id)
    health = next((h for h in stats.camera_health() if h.camera.id == camera.id), None) if camera else None
    status = 400 if request.method == "POST" and probe is None else 200
    frame = "data:image/jpeg;base64," + base64.b64encode(probe.jpeg).decode("ascii") if probe and probe.jpeg else ""
    return render(request, "ui/camera_edit.html", {"camera": camera, "form": form, "probe": probe, "frame": frame, "health": health},
                  status=status)


@staff_required
def camera_snapshot(request, camera_id):
    """A fresh frame from the camera's source, now (or, when it cannot be opened, 502 with why)."""
    camera = get_object_or_404(Camera, pk=camera_id)
    probe = cameras.probe(camera.source)
    if not probe.ok:
        return HttpResponse(probe.message, status=502, content_type="text/plain; charset=utf-8")
    return HttpResponse(probe.jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})


@staff_required
def camera_delete(request, camera_id):
    camera = get_object_or_404(Camera, pk=camera_id)
    if request.method == "POST":
        camera.delete()
        messages.success(request, f"Deleted the camera {camera.name} and its events.")
        return redirect("ui:cameras")
    return render(request, "ui/confirm_delete.html", {
        "what": f"the camera {camera.name}", "back": "ui:camera", "back_id": camera.id,
        "warning": f"Its {camera.events.count()} events (with their crops and frames) are deleted too.",
    })


# --- Rules ------------------------------------------------------------------------------------------


@staff_required
def rule_list(request):
    rules = Rule.objects.prefetch_related("cameras", "watchlists").annotate(deliveries_count=Count("deliveries")).order_by("name")
    return render(request, "ui/rule_list.html", {"rules": rules})


@staff_required
def rule_edit(request, rule_id=None):
    rule = get_object_or_404(Rule, pk=rule_id) if rule_id else None
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        rule = form.save()
        messages.success(request, f"Saved the rule {rule.name}.")
        return redirect("ui:rule", rule_id=rule.id)
    deliveries = rule.deliveries.select_related("event").order_by("-created_at")[:50] if rule else []
    return render(request, "ui/rule_edit.html", {"rule": rule, "form": form, "deliveries": deliveries},
                  status=400 if request.method == "POST" else 200)


@staff_required
def rule_delete(request, rule_id):
    rule = get_object_or_404(Rule, pk=rule_id)
    if request.method == "POST":
        rule.delete()
        messages.success(request, f"Deleted the rule {rule.name}; its delivery log is kept.")
        return redirect("ui:rules")
    return render(request, "ui/confirm_delete.html", {"what": f"the rule {rule.name}", "back": "ui:rule", "back_id": rule.id,
                                                      "warning": "Its webhook delivery log is kept."})


# --- Events -----------------------------------------------------------------------------------------


def _events(request):
    form = EventFilter(request.GET or None)
    events = Event.objects.select_related("camera", "person").order_by("-first_seen")
    if form.is_valid():
        filters = form.filters(browser_zone(request))
        name = filters.pop("person_name")
        events = events.filtered(**filters)
        if name:
            events = events.filter(person__name__icontains=name)
    return form, events.distinct()


@staff_required
def event_list(request):
    form, events = _events(request)
    page = Paginator(events, EVENTS_PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "ui/event_list.html", {"form": form, "page": page, "query": params.urlencode(), "now": timezone.now()})


@staff_required
def event_list_live(request):
    """The first page of the list, for the page's live refresh."""
    form, events = _events(request)
    return render(request, "ui/_event_rows.html", {"page": events[:EVENTS_PAGE_SIZE], "now": timezone.now()})


@staff_required
def event_detail(request, event_id):
    event = get_object_or_404(Event.objects.select_related("camera", "person"), pk=event_id)
    box = box_percent(event.box, event.frame_width, event.frame_height) if event.frame_width and event.box else None
    return render(request, "ui/event_detail.html", {"event": event, "box": box,
                                                    "corrections": corrections.undoable_corrections(event.id)})


@staff_required
@require_POST
def event_not_person(request, event_id):
    """"Not this person" on an event, also while the camera still follows its track (videostreams.corrections)."""
    event = get_object_or_404(Event.objects.select_related("person"), pk=event_id)
    name = event.person.name if event.person else ""
    try:
        corrections.not_person(event, actor=actor(request))
    except FaceAppError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Remembered: this face is not {name}; the camera will not name it {name} again. "
                                  "Undo it under Recent corrections.")
    return redirect("ui:event", event_id=event.id)


@staff_required
def event_image(request, event_id, kind):
    return event_image_response(get_object_or_404(Event, pk=event_id), kind)
