"""Who may use the operator pages: staff accounts (the login is at /accounts/login/)."""
from __future__ import annotations

import functools
import zoneinfo

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from faceapp.audit.log import Actor
from recognition.exceptions import NotFound


def staff_required(view):
    """Anonymous visitors go to the login page; signed-in users who are not staff are refused (403).
    A NotFound from the services is the styled 404 page."""

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


def actor(request) -> Actor:
    return Actor.from_request(request)


def browser_zone(request):
    """The browser's time zone (ui.js keeps it in the `tz` cookie), else the server's."""
    name = request.COOKIES.get("tz", "")
    try:
        return zoneinfo.ZoneInfo(name) if name else timezone.get_default_timezone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


def safe_next(request, default: str) -> str:
    """The page to go back to after a POST: `next`, when it is a path of this UI (never another site), else `default`."""
    back = request.POST.get("next", "")
    return back if back.startswith("/ui/") and "//" not in back and "\\" not in back else default
