"""The video API (/api/v1/cameras, events, rules, webhook-deliveries) and the staff events feed (JSON; the page is the
operator UI's /ui/events/)."""
from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from enrollment.sighting_serializers import NotPersonRequest
from faceapp.apikeys.permissions import EnrollScope, ReadOrAdminScope
from faceapp.audit.log import Actor
from faceapp.parsers import JSONParser
from faceapp.schema import errors

from . import corrections
from .models import Camera, Event, Rule, WebhookDelivery
from .serializers import CameraSerializer, EventFilter, EventSerializer, FeedFilter, RuleSerializer, WebhookDeliverySerializer

IMAGE_KINDS = ("crop", "thumbnail", "frame")


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class CameraViewSet(viewsets.ModelViewSet):
    """Cameras: create, edit, enable/disable (the runner picks changes up within seconds), and live status."""

    # Cameras and rules configure the system (sources, webhooks): changing them needs the admin scope.
    permission_classes = [ReadOrAdminScope]

    queryset = Camera.objects.prefetch_related("watchlists")
    serializer_class = CameraSerializer
    pagination_class = Pagination


@extend_schema_view(
    list=extend_schema(parameters=[EventFilter]),
    image=extend_schema(
        operation_id="events_image",
        summary="The event's best-shot crop, its thumbnail or the full frame (JPEG)",
        parameters=[OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(IMAGE_KINDS))],
        responses={(200, "image/jpeg"): bytes},
    ),
)
class EventViewSet(mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Events, newest first; filter by camera, person, watchlist, matched, since/until."""

    serializer_class = EventSerializer
    pagination_class = Pagination

    def get_queryset(self):
        queryset = Event.objects.select_related("camera", "person")
        if self.action != "list":
            return queryset
        query = EventFilter(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return queryset.filtered(**query.validated_data)

    @action(detail=True, methods=["get"], url_path=r"(?P<kind>crop|thumbnail|frame)")
    def image(self, request, pk=None, kind=None):
        return event_image_response(self.get_object(), kind)

    @extend_schema(summary="Not this person: the event (its track) is not who it was named as",
                   description="Remembered for the track: while the camera still follows it, later decisions do not name "
                               "the person again; its sighting carries the exclusion. Needs the `enroll` scope; audited.",
                   request=NotPersonRequest, responses={200: EventSerializer, **errors(400, 404)})
    @action(detail=True, methods=["post"], url_path="not-person", permission_classes=[EnrollScope],
            parser_classes=[JSONParser, MultiPartParser, FormParser])
    def not_person(self, request, pk=None):
        form = NotPersonRequest(data=request.data)
        form.is_valid(raise_exception=True)
        event = corrections.not_person(self.get_object(), person=form.validated_data.get("person_id"),
                                       actor=Actor.from_request(request))
        return Response(EventSerializer(Event.objects.select_related("camera", "person").get(pk=event.pk),
                                        context=self.get_serializer_context()).data)


class RuleViewSet(viewsets.ModelViewSet):
    permission_classes = [ReadOrAdminScope]
    queryset = Rule.objects.prefetch_related("cameras", "watchlists")
    serializer_class = RuleSerializer
    pagination_class = Pagination


class WebhookDeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """The webhook delivery log: every POST's status, attempts and last error."""

    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliverySerializer
    pagination_class = Pagination


def event_image_response(event: Event, kind: str) -> FileResponse:
    field = getattr(event, kind, None) if kind in IMAGE_KINDS else None
    if not field:
        raise Http404
    try:
        return FileResponse(field.open("rb"), content_type="image/jpeg")
    except FileNotFoundError as exc:
        raise Http404 from exc


# --- The staff pages (session login, not the API's authentication) ------------------------------


@staff_member_required
def events_feed_json(request):
    """The latest events (updated after `after`, if given), newest first, for the feed page."""
    events = Event.objects.select_related("camera", "person").order_by("-updated_at")
    # Every parameter is validated (a camera that is not a UUID, an impossible date: 400, never a 500).
    query = FeedFilter(data={k: request.GET[k] for k in ("after", "camera", "gender", "age_min", "age_max", "emotion") if request.GET.get(k)})
    if not query.is_valid():
        return JsonResponse({"error": query.errors}, status=400)
    filters = dict(query.validated_data)
    after = filters.pop("after", None)
    if after is not None:
        events = events.filter(updated_at__gt=after)
    if filters.get("camera"):
        events = events.filter(camera_id=filters.pop("camera"))
    events = events.filtered(**{k: v for k, v in filters.items() if k in ("gender", "age_min", "age_max", "emotion")})
    items = []
    for event in events[:50]:
        items.append(
            {
                "id": str(event.id),
                "camera": event.camera.name,
                "person": event.person.name if event.person_id else None,
                "similarity": event.similarity,
                "quality": event.quality,
                "first_seen": event.first_seen.isoformat(),
                "last_seen": event.last_seen.isoformat(),
                "updated_at": event.updated_at.isoformat(),
                "closed": event.closed,
                "gender": event.gender,
                "age": event.age,
                "emotion": event.emotion,
                "thumbnail_url": _page_image_url(event, "thumbnail"),
                "frame_url": _page_image_url(event, "frame"),
            }
        )
    return JsonResponse({"events": items})


def _page_image_url(event, kind):
    from django.urls import reverse

    return reverse("videostreams:event-image", kwargs={"pk": event.pk, "kind": kind}) if getattr(event, kind) else None


@staff_member_required
def event_image(request, pk, kind):
    return event_image_response(get_object_or_404(Event, pk=pk), kind)
