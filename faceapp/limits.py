"""Request bodies refused by their declared size, before a byte of them is read (413).

Django streams a multipart upload to a temporary file before any view can look at it, so a 200 MB body was read in
full to be refused afterwards. This middleware looks only at the `Content-Length` header, once the URL has chosen
the view: every request may carry FACEAPP_MAX_REQUEST_BYTES; a view marked with `body_limit` (one image: the upload
limit plus room for the form fields; the bulk import: its own, larger, limit) carries its own.
"""
from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse

FORM_FIELDS_BYTES = 1024 * 1024  # the other fields of a multipart form beside its image(s)


def body_limit(limit: Callable[[], int]):
    """Mark a view (a function, or the function `as_view()` returns) with its own body limit, read at request time."""

    def mark(view):
        view.body_limit = limit
        return view

    return mark


def images_limit(count: int = 1) -> Callable[[], int]:
    return lambda: count * settings.FACEAPP_MAX_UPLOAD_BYTES + FORM_FIELDS_BYTES


def _limit_of(view_func) -> int:
    for holder in (view_func, getattr(view_func, "cls", None), getattr(view_func, "view_class", None)):
        limit = getattr(holder, "body_limit", None)
        if limit is not None:
            return limit()
    return settings.FACEAPP_MAX_REQUEST_BYTES


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = _limit_of(view_func)
        if declared <= limit:
            return None
        message = f"The request body is {declared:,} bytes; the limit here is {limit:,}."
        if request.path.startswith("/api/"):
            from faceapp.api import json_error

            return json_error(413, "request_too_large", message)
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
