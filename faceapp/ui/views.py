"""The operator web UI: people, enrolment, 'Who is this?' and pending enrolments (staff only).

Each view validates a form, makes one service call and renders; refusals from the services come back
as field errors on the same page, with what the operator typed kept.
"""
from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from enrollment import people, services
from faceapp.audit.log import Actor
from recognition.exceptions import FaceAppError, NotFound

from . import services as ui
from .forms import EnrolForm, PeopleFilter, PersonForm, PhotoForm, PhotosForm

PAGE_SIZE = 48


def staff_required(view):
    """Anonymous visitors go to the login page; signed-in users who are not staff are refused (403)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            return render(request, "ui/forbidden.html", status=403)
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def _actor(request) -> Actor:
    return Actor.from_request(request)


# --- People ------------------------------------------------------------------------------------


@staff_required
def people_list(request):
    form = PeopleFilter(request.GET or None)
    query = form.cleaned_data if form.is_valid() else {}
    watchlist = query.get("watchlist")
    found = people.people(search=query.get("q", ""), watchlist=watchlist.id if watchlist else None)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ui/people_list.html", {"form": form, "page": page, "query": request.GET.urlencode()})


@staff_required
def person_detail(request, person_id):
    person = people.get_person(person_id)
    initial = {f: getattr(person, f) for f in ("name", "birthdate", "email", "external_id")}
    edit = PersonForm(initial={**initial, "watchlists": list(person.watchlists.all())})
    photos = PhotosForm()
    action = request.POST.get("action")
    if action == "edit":
        edit = PersonForm(request.POST)
        if edit.is_valid():
            try:
                people.update_person(person, actor=_actor(request), **edit.fields_for_service())
            except FaceAppError as exc:
                edit.add_service_error(exc)
            else:
                messages.success(request, "Saved.")
                return redirect("ui:person", person_id=person.id)
    elif action == "add_photos":
        photos = PhotosForm(request.POST, request.FILES)
        if photos.is_valid():
            try:
                added = ui.add_photos(person, photos.cleaned_data["photos"], actor=_actor(request))
            except FaceAppError as exc:
                photos.add_error("photos", exc.message)
            else:
                messages.success(request, f"Added {len(added)} face(s).")
                return redirect("ui:person", person_id=person.id)
    context = {"person": person, "faces": people.faces_of(person), "edit": edit, "photos": photos}
    return render(request, "ui/person_detail.html", context, status=400 if request.method == "POST" else 200)


@staff_required
def person_delete(request, person_id):
    person = people.get_person(person_id)
    if request.method == "POST":
        faces = people.delete_person(person, actor=_actor(request))
        messages.success(request, f"Deleted {person.name} and {faces} face(s) with their images.")
        return redirect("ui:people")
    return render(request, "ui/person_delete.html", {"person": person})


@staff_required
def face_delete(request, person_id, face_id):
    person = people.get_person(person_id)
    face = people.get_face(person, face_id)
    if request.method == "POST":
        people.delete_face(face, actor=_actor(request))
        messages.success(request, "Deleted the face and its images.")
        return redirect("ui:person", person_id=person.id)
    return render(request, "ui/face_delete.html", {"person": person, "face": face})


@staff_required
def face_thumbnail(request, face_id):
    face = people.face_by_id(face_id)
    return FileResponse(people.open_face_image(face, "thumbnail"), content_type="image/jpeg")


# --- Enrol -------------------------------------------------------------------------------------


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
        form = EnrolForm(initial={"shown": " ".join(shown), "req_id": [p.suggested for p in photos if p.suggested]}, req_ids=shown)
        return render(request, "ui/enrol.html", {"photos": photos, "form": form, "upload": PhotosForm()})
    if request.method == "POST" and request.POST.get("action") == "enrol":
        shown = request.POST.get("shown", "").split()
        form = EnrolForm(request.POST, req_ids=shown)
        if form.is_valid():
            try:
                person = services.enrol_from_pending(form.cleaned_data["req_id"], actor=_actor(request), **form.fields_for_service())
            except FaceAppError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, f"Enrolled {person.name}.")
                return redirect("ui:person", person_id=person.id)
        return render(request, "ui/enrol.html", {"form": form, "held": ui.held_faces(shown), "upload": PhotosForm()}, status=400)
    req_ids = request.GET.getlist("req_id")
    if req_ids:
        held = ui.held_faces(req_ids)
        shown = [h.req_id for h in held]
        form = EnrolForm(initial={"shown": " ".join(shown), "req_id": shown}, req_ids=shown)
        return render(request, "ui/enrol.html", {"form": form, "held": held, "upload": PhotosForm()})
    return render(request, "ui/enrol.html", {"upload": PhotosForm()})


# --- Who is this? ------------------------------------------------------------------------------


@staff_required
def who(request):
    form = PhotoForm(request.POST or None, request.FILES or None)
    result = policy = None
    if request.method == "POST" and form.is_valid():
        try:
            result, policy = ui.who_is_this(form.cleaned_data["photo"], preset=form.cleaned_data.get("preset") or None,
                                            actor=_actor(request))
        except FaceAppError as exc:
            form.add_error("photo", exc.message)
    status = 400 if request.method == "POST" and result is None else 200
    return render(request, "ui/who.html", {"form": form, "result": result, "policy": policy}, status=status)


# --- Pending enrolments ------------------------------------------------------------------------


@staff_required
def pending_list(request):
    return render(request, "ui/pending_list.html", {"pending": services.pending_enrolments()})


@staff_required
@require_POST
def pending_discard(request, req_id):
    services.discard_pending(req_id)
    messages.success(request, "Discarded the pending enrolment.")
    return redirect("ui:pending")


@staff_required
def pending_crop(request, req_id):
    pending = services.get_pending(req_id)
    return HttpResponse(bytes(pending.crop_jpeg), content_type="image/jpeg")
