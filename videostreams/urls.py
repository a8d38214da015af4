"""Staff pages of the video half (the API routes are in `api_router`, mounted under /api/v1/)."""
from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

api_router = DefaultRouter(trailing_slash=False)
api_router.include_root_view = False
api_router.register("cameras", views.CameraViewSet, basename="camera")
api_router.register("events", views.EventViewSet, basename="event")
api_router.register("rules", views.RuleViewSet, basename="rule")
api_router.register("webhook-deliveries", views.WebhookDeliveryViewSet, basename="webhookdelivery")

app_name = "videostreams"
urlpatterns = [
    path("events/feed.json", views.events_feed_json, name="events-feed-json"),
    path("events/<uuid:pk>/<str:kind>.jpg", views.event_image, name="event-image"),
]
