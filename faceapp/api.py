"""The one error envelope for every API error, and the DRF exception handler that renders it.

    {"status": "error", "error_code": ..., "message": ..., "requestId": ...}

A 500 says only "Internal error." and the request id; the traceback goes to the log.
"""
from __future__ import annotations

import errno
import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from faceapp.requestid import current_request_id
from recognition.exceptions import FaceAppError

logger = logging.getLogger("faceapp.api")


def error_body(status_code: int, error_code, message: str, **extra) -> dict:
    body = {"status": "error", "error_code": error_code, "message": message, "requestId": current_request_id()}
    body.update(extra)
    return body


_DRF_CODES = {
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.AuthenticationFailed: "unauthenticated",
    drf_exceptions.NotAuthenticated: "unauthenticated",
    drf_exceptions.PermissionDenied: "forbidden",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
}


def _validation_message(detail) -> tuple[str, dict]:
    """A one-line message naming the first bad field, plus every field's errors."""
    if isinstance(detail, dict):
        fields = {key: [str(e) for e in (value if isinstance(value, list) else [value])] for key, value in detail.items()}
        key, errors = next(iter(fields.items()))
        label = "" if key == "non_field_errors" else f"{key}: "
        return f"{label}{errors[0]}", {"fields": fields}
    if isinstance(detail, list) and detail:
        return str(detail[0]), {}
    return str(detail), {}


def exception_handler(exc, context):
    if isinstance(exc, FaceAppError):
        return Response(error_body(exc.status_code, exc.error_code, exc.message, **exc.extra), status=exc.status_code)
    if isinstance(exc, drf_exceptions.ValidationError):
        message, extra = _validation_message(exc.detail)
        return Response(error_body(400, "invalid_request", message, **extra), status=400)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(413, "request_too_large", "The request body is too large."), status=413)
    if isinstance(exc, drf_exceptions.APIException):
        code = _DRF_CODES.get(type(exc), exc.default_code)
        response = Response(error_body(exc.status_code, code, str(exc.detail)), status=exc.status_code)
        if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
            response["Retry-After"] = str(int(exc.wait) + 1)
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header
        return response
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        # Redis holds the shared throttle counts and caches: without it a request is refused clearly, never let
        # through uncounted, and the node stays up for when it returns.
        logger.error("redis unavailable: %s", exc)
        return Response(error_body(503, "redis_unavailable", "A shared service is unavailable; try again shortly."), status=503)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("database unavailable: %s", exc)
        return Response(error_body(503, "database_unavailable", "The database is unavailable; try again shortly."), status=503)
    if _storage_full(exc):
        # The media disk (or a quota) is full: the enrolment's transaction rolled back and its files were removed, so
        # nothing was stored; say so, rather than a bare 500.
        logger.error("storage full: %s", exc)
        return Response(error_body(507, "insufficient_storage", "The server's disk is full; nothing was stored. Try again later."),
                        status=507)
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
        return Response(error_body(500, "internal_error", "Internal error."), status=500)
    logger.exception("unhandled error")
    return Response(error_body(500, "internal_error", "Internal error."), status=500)


def _storage_full(exc: BaseException | None) -> bool:
    """An OSError 'no space left' or 'quota exceeded', raised or in the chain of causes."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def json_error(status_code: int, error_code, message: str) -> JsonResponse:
    return JsonResponse(error_body(status_code, error_code, message), status=status_code)


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return json_error(404, "not_found", "Not found.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return json_error(500, "internal_error", "Internal error.")
    from django.views.defaults import server_error

    return server_error(request)
