"""Enrolling a person from photos (or held faces), and the pending enrolments."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from enrollment import pending as pending_enrolments
from enrollment import services, sightings
from recognition.exceptions import DuplicateFace, FaceAppError

from .. import services as ui
from ..access import actor, staff_required
from ..forms import EnrolForm, PhotosForm


@staff_required
def enrol(request):
    """Step 1: upload photos (or come with ?req_id= from 'Who is this?' or the pending list).
    Step 2: pick faces, fill in the person, save."""
    if request.method == "POST" and request.POST.get("action") == "examine":
        upload = PhotosForm(request.POST, request.FILES)
        if not upload.is_valid():
            return render(request, "ui/enrol.html", {"upload": upload}, status=400)
        photos = ui.examine_photos(upload.cleaned_data["photos"])
        shown = [f.req_id for p in photos for f in p.faces]
        form = EnrolForm(initial={"shown": " ".join(shown), "req_id": [p.suggested for p in photos if p.suggested]}, req_ids=shown,
                         liveness_off=ui.liveness_off())
        return render(request, "ui/enrol.html", {"photos": photos, "form": form, "upload": PhotosForm()})
    if request.method == "POST" and request.POST.get("action") == "enrol":
        shown = request.POST.get("shown", "").split()
        form = EnrolForm(request.POST, req_ids=shown, liveness_off=ui.liveness_off())
        duplicate = None
        if form.is_valid():
            try:
                person = services.enrol_from_pending(form.cleaned_data["req_id"], actor=actor(request),
                                                     liveness=form.cleaned_data["liveness"], **form.fields_for_service())
            except DuplicateFace as exc:
                duplicate = ui.duplicate_words(exc)
            except FaceAppError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, f"Enrolled {person.name}.")
                return redirect("ui:person", person_id=person.id)
        context = {"form": form, "held": ui.held_faces(shown), "upload": PhotosForm(), "duplicate": duplicate}
        return render(request, "ui/enrol.html", context, status=409 if duplicate else 400)
    req_ids = request.GET.getlist("req_id")
    if req_ids:
        held = ui.held_faces(req_ids)
        shown = [h.req_id for h in held]
        form = EnrolForm(initial={"shown": " ".join(shown), "req_id": shown}, req_ids=shown, liveness_off=ui.liveness_off())
        return render(request, "ui/enrol.html", {"form": form, "held": held, "upload": PhotosForm()})
    return render(request, "ui/enrol.html", {"upload": PhotosForm()})


@staff_required
def pending_list(request):
    return render(request, "ui/pending_list.html", {"pending": pending_enrolments.pending_enrolments()})


@staff_required
@require_POST
def pending_discard(request, req_id):
    pending_enrolments.discard_pending(req_id)
    messages.success(request, "Discarded the pending enrolment.")
    return redirect("ui:pending")


@staff_required
@require_POST
def pending_keep(request, req_id):
    """'Keep as unknown': the face stays held (longer than a pending enrolment's usual minutes)."""
    pending = pending_enrolments.keep_pending(req_id)
    group = sightings.keep_held_face(pending, actor=actor(request)).unknown_group
    messages.success(request, "Kept the face as unknown, held until the date shown below: enrol it from here at any time. "
                              f"It is also in the unknown people, as {group.label}." if group else
                              "Kept the face as unknown, held until the date shown below: enrol it from here at any time.")
    return redirect(f"{reverse('ui:pending')}#pending-{pending.req_id}")


@staff_required
def pending_crop(request, req_id):
    pending = pending_enrolments.get_pending(req_id)
    response = HttpResponse(bytes(pending.crop_jpeg), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=600"
    return response
