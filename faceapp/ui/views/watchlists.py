"""Watchlists: the list, one watchlist with its members (add, remove), create, rename, delete."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from enrollment import people
from recognition.exceptions import FaceAppError

from ..access import actor, staff_required
from ..forms import WatchlistForm

CANDIDATES_SHOWN = 30


@staff_required
def watchlist_list(request):
    form = WatchlistForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            watchlist = people.create_watchlist(actor=actor(request), **form.cleaned_data)
        except FaceAppError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Created the watchlist {watchlist.name}.")
            return redirect("ui:watchlist", watchlist_id=watchlist.id)
    return render(request, "ui/watchlist_list.html", {"watchlists": people.watchlists(), "form": form},
                  status=400 if request.method == "POST" else 200)


@staff_required
def watchlist_detail(request, watchlist_id):
    watchlist = people.get_watchlist(watchlist_id)
    form = WatchlistForm(request.POST or None, initial={"name": watchlist.name, "description": watchlist.description})
    if request.method == "POST" and form.is_valid():
        try:
            people.update_watchlist(watchlist, actor=actor(request), **form.cleaned_data)
        except FaceAppError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, "Saved.")
            return redirect("ui:watchlist", watchlist_id=watchlist.id)
    members = people.people(watchlist=watchlist.id)
    q = request.GET.get("q", "").strip()
    candidates = people.people(search=q).exclude(watchlists=watchlist)[:CANDIDATES_SHOWN] if q else []
    context = {"watchlist": watchlist, "form": form, "members": members, "q": q, "candidates": candidates}
    return render(request, "ui/watchlist_detail.html", context, status=400 if request.method == "POST" else 200)


@staff_required
@require_POST
def watchlist_members(request, watchlist_id):
    """Add the ticked people (`add`) or remove one (`remove`)."""
    watchlist = people.get_watchlist(watchlist_id)
    current = set(watchlist.people.values_list("id", flat=True))
    added = [p for p in request.POST.getlist("add") if p]
    removed = [p for p in request.POST.getlist("remove") if p]
    found = set(people.people().filter(id__in=added + removed).values_list("id", flat=True))
    keep = (current | {p for p in found if str(p) in added}) - {p for p in found if str(p) in removed}
    people.update_watchlist(watchlist, people=list(keep), actor=actor(request))
    if len(keep) > len(current):
        messages.success(request, f"Added {len(keep) - len(current)} to {watchlist.name}.")
    elif len(keep) < len(current):
        messages.success(request, f"Removed {len(current) - len(keep)} from {watchlist.name}.")
    return redirect("ui:watchlist", watchlist_id=watchlist.id)


@staff_required
def watchlist_delete(request, watchlist_id):
    watchlist = people.get_watchlist(watchlist_id)
    if request.method == "POST":
        people.delete_watchlist(watchlist, actor=actor(request))
        messages.success(request, f"Deleted the watchlist {watchlist.name}; its people stay enrolled.")
        return redirect("ui:watchlists")
    return render(request, "ui/confirm_delete.html", {"what": f"the watchlist {watchlist.name}", "back": "ui:watchlist",
                                                      "back_id": watchlist.id, "warning": "Its people stay enrolled."})
