"""People: the list (searched, filtered, sorted), a person's page, adding faces to them, deletions."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render

from enrollment import correction_log, people
from recognition.exceptions import FaceAppError

from .. import services as ui
from ..access import actor, staff_required
from .identity import person_edit_forms
from ..forms import PEOPLE_SORTS, AddFacesForm, PeopleFilter, PersonForm, PhotosForm

PAGE_SIZE = 48


@staff_required
def people_list(request):
    form = PeopleFilter(request.GET or None)
    valid = form.is_valid()
    query = form.cleaned_data if valid else {}
    watchlist = query.get("watchlist")
    ordering = PEOPLE_SORTS.get(query.get("sort") or "name", "name")
    found = people.people(search=query.get("q", ""), watchlist=watchlist.id if watchlist else None, ordering=ordering,
                          **(form.attribute_filters() if valid else {}))
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "ui/people_list.html", {"form": form, "page": page, "query": params.urlencode(), "default_sort": "name"})


@staff_required
def person_detail(request, person_id):
    person = people.get_person(person_id)
    initial = {f: getattr(person, f) for f in ("name", "birthdate", "email", "external_id")}
    edit = PersonForm(initial={**initial, "watchlists": list(person.watchlists.all())})
    if request.method == "POST":
        edit = PersonForm(request.POST)
        if edit.is_valid():
            try:
                people.update_person(person, actor=actor(request), **edit.fields_for_service())
            except FaceAppError as exc:
                edit.add_service_error(exc)
            else:
                messages.success(request, "Saved.")
                return redirect("ui:person", person_id=person.id)
    context = {"person": person, "faces": people.faces_of(person), "edit": edit, "photos": PhotosForm(),
               "sightings": person.sightings.order_by("-seen_at")[:TIMELINE_SIGHTINGS],
               "edits": correction_log.of_person(person.id), **person_edit_forms(person)}
    return render(request, "ui/person_detail.html", context, status=400 if request.method == "POST" else 200)


TIMELINE_SIGHTINGS = 24  # the person's latest sightings on their page (all of them: their timeline page)


@staff_required
def person_add_faces(request, person_id):
    """Adding photos to a person, as safe as enrolling: step 1 shows every face of every photo (boxed, quality,
    whose face it already is); step 2 adds the picked ones, keeps the good ones when some are refused, and
    adds a face of somebody else only as a reviewed exception."""
    person = people.get_person(person_id)
    if request.method == "POST" and request.POST.get("action") == "examine":
        upload = PhotosForm(request.POST, request.FILES)
        if not upload.is_valid():
            context = {"person": person, "faces": people.faces_of(person), "edit": PersonForm(), "photos": upload,
                       **person_edit_forms(person)}
            return render(request, "ui/person_detail.html", context, status=400)
        photos = ui.examine_photos(upload.cleaned_data["photos"], person=person)
        shown = [f.req_id for p in photos for f in p.faces]
        form = AddFacesForm(initial={"shown": " ".join(shown), "req_id": [p.suggested for p in photos if p.suggested]}, req_ids=shown)
        return render(request, "ui/person_add.html", {"person": person, "photos": photos, "form": form})
    if request.method == "POST" and request.POST.get("action") == "add":
        shown = request.POST.get("shown", "").split()
        form = AddFacesForm(request.POST, req_ids=shown)
        if form.is_valid():
            added, refusals = ui.add_held_faces(person, form.cleaned_data["req_id"], reviewed=form.reviewed_reasons(), actor=actor(request))
            if added:
                messages.success(request, f"Added {added} face{'s' if added != 1 else ''} to {person.name}.")
            if not refusals:
                return redirect("ui:person", person_id=person.id)
            left = [r.req_id for r in refusals]
            form = AddFacesForm(initial={"shown": " ".join(left), "req_id": left}, req_ids=left)
            return render(request, "ui/person_add.html", {"person": person, "form": form, "refusals": refusals,
                                                          "held": ui.held_faces(left, person=person)}, status=409)
        return render(request, "ui/person_add.html", {"person": person, "form": form, "held": ui.held_faces(shown, person=person)}, status=400)
    return redirect("ui:person", person_id=person.id)


@staff_required
def person_delete(request, person_id):
    person = people.get_person(person_id)
    if request.method == "POST":
        faces = people.delete_person(person, actor=actor(request))
        messages.success(request, f"Deleted {person.name} and {faces} face(s) with their images.")
        return redirect("ui:people")
    return render(request, "ui/person_delete.html", {"person": person})


@staff_required
def face_delete(request, person_id, face_id):
    person = people.get_person(person_id)
    face = people.get_face(person, face_id)
    if request.method == "POST":
        people.delete_face(face, actor=actor(request))
        messages.success(request, "Deleted the face and its images.")
        return redirect("ui:person", person_id=person.id)
    return render(request, "ui/face_delete.html", {"person": person, "face": face})


@staff_required
def face_thumbnail(request, face_id):
    face = people.face_by_id(face_id)
    response = FileResponse(people.open_face_image(face, "thumbnail"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response
