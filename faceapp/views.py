from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from faceapp.api import error_body
from faceapp.schema import ErrorEnvelope
from faceapp.health import health, liveness


@extend_schema(
    summary="Liveness: this process answers (no dependency checked; no key needed)",
    # Not "Liveness": that component is the face liveness (anti-spoofing) result of verify.
    responses={200: inline_serializer("ProcessAlive", {
        "status": serializers.ChoiceField(choices=["ok"]),
        "pid": serializers.IntegerField(help_text="The answering process."),
        "time": serializers.FloatField(help_text="Its clock, in seconds since the epoch."),
    })},
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def health_live_view(request):
    return Response(liveness())


@extend_schema(
    summary="Readiness of the database, pgvector, the models and Redis if configured (no key needed); also at /health/ready",
    responses={
        200: inline_serializer("Health", {"status": serializers.ChoiceField(choices=["ok"])}),
        503: OpenApiResponse(ErrorEnvelope, description="Not ready: the envelope (`not_ready`) plus each part's state."),
    },
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def health_view(request):
    ready, parts = health()
    if ready:
        return Response({"status": "ok", **parts})
    failing = ", ".join(name for name, part in parts.items() if not part["ready"])
    body = error_body(503, "not_ready", f"Not ready: {failing}.")
    body.update(parts)
    return Response(body, status=503)


def home_view(request):
    """The landing page: readiness at a glance and links to the docs and the admin."""
    ready, parts = health()
    return render(request, "home.html", {"ready": ready, "parts": parts}, status=200 if ready else 503)
