from django.urls import reverse
from rest_framework import serializers

from enrollment.models import Watchlist

from . import outbound
from .models import EMOTION_CHOICES, GENDER_CHOICES, Camera, Event, Rule, WebhookDelivery, validate_attribute_kinds, validate_roi


class CameraSerializer(serializers.ModelSerializer):
    watchlists = serializers.PrimaryKeyRelatedField(many=True, queryset=Watchlist.objects.all(), required=False)
    sample_fps = serializers.FloatField(min_value=0.1, max_value=60, required=False)
    min_face_size = serializers.IntegerField(min_value=12, max_value=2000, required=False)
    min_quality = serializers.FloatField(min_value=0, max_value=1, required=False)
    detect_interval = serializers.IntegerField(min_value=1, max_value=100, required=False)
    min_track_frames = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    match_threshold = serializers.FloatField(min_value=-1, max_value=1, required=False, allow_null=True)
    roi = serializers.JSONField(required=False, validators=[validate_roi], help_text="[x1, y1, x2, y2] fractions of the frame; [] for all of it.")
    attributes = serializers.JSONField(
        required=False, validators=[validate_attribute_kinds],
        help_text="Face attributes stored with every event: a list of gender, age, emotion (default all; [] for none).")

    class Meta:
        model = Camera
        fields = [
            "id", "name", "source", "enabled", "mode", "sample_fps", "min_face_size", "min_quality", "roi",
            "detect_interval", "min_track_frames", "match_threshold", "preset", "watchlists", "attributes",
            "status", "last_error", "last_frame_at", "frames_per_second", "faces_per_second", "frames_dropped",
            "frames_still", "reconnects", "status_updated_at", "lease_owner", "lease_expires_at", "created_at", "updated_at",
        ]
        read_only_fields = [
            "status", "last_error", "last_frame_at", "frames_per_second", "faces_per_second", "frames_dropped",
            "frames_still", "reconnects", "status_updated_at", "lease_owner", "lease_expires_at", "created_at", "updated_at",
        ]

    def validate_source(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("Give an RTSP/HTTP(S) URL, a video file path or a device index.")
        # The password is write-only: a client that sends back the masked source it read keeps the stored password.
        value = outbound.unredact(value, self.instance.source if self.instance else "")
        try:
            outbound.check_camera_source(value, resolve=False)
        except outbound.OutboundRefused as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def to_representation(self, camera):
        data = super().to_representation(camera)
        data["source"] = outbound.redact(camera.source)
        return data

    def validate_roi(self, value):
        return value or []


def image_url(request, event: Event, kind: str) -> str | None:
    if not getattr(event, kind):
        return None
    path = reverse("event-image", kwargs={"pk": event.pk, "kind": kind})
    return request.build_absolute_uri(path) if request else path


class EventSerializer(serializers.ModelSerializer):
    camera_name = serializers.CharField(source="camera.name", read_only=True)
    person = serializers.SerializerMethodField()
    crop_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    frame_url = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = [
            "id", "camera", "camera_name", "track_id", "first_seen", "last_seen", "matched", "person", "similarity", "votes",
            "quality", "quality_details", "box", "frame_width", "frame_height", "frames_seen", "closed",
            "gender", "gender_score", "age", "emotion", "attributes",
            "crop_url", "thumbnail_url", "frame_url", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_person(self, event) -> dict | None:
        if not event.person_id:
            return None
        return {"id": str(event.person_id), "name": event.person.name, "external_id": event.person.external_id}

    def get_crop_url(self, event) -> str | None:
        return image_url(self.context.get("request"), event, "crop")

    def get_thumbnail_url(self, event) -> str | None:
        return image_url(self.context.get("request"), event, "thumbnail")

    def get_frame_url(self, event) -> str | None:
        return image_url(self.context.get("request"), event, "frame")


class EventFilter(serializers.Serializer):
    """The query parameters of GET /api/v1/events."""

    camera = serializers.UUIDField(required=False)
    person = serializers.UUIDField(required=False)
    watchlist = serializers.UUIDField(required=False)
    matched = serializers.BooleanField(required=False, allow_null=True, default=None)
    since = serializers.DateTimeField(required=False, help_text="Events seen at or after this time (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Events that began at or before this time.")
    gender = serializers.ChoiceField(choices=GENDER_CHOICES, required=False, help_text="Only faces estimated of this gender.")
    age_min = serializers.FloatField(required=False, min_value=0, max_value=150, help_text="Only faces estimated at least this old.")
    age_max = serializers.FloatField(required=False, min_value=0, max_value=150, help_text="Only faces estimated at most this old.")
    emotion = serializers.ChoiceField(choices=EMOTION_CHOICES, required=False, help_text="Only faces showing this emotion.")

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise serializers.ValidationError({"since": "since is after until."})
        if data.get("age_min") is not None and data.get("age_max") is not None and data["age_min"] > data["age_max"]:
            raise serializers.ValidationError({"age_min": "age_min is above age_max."})
        return data


class FeedFilter(EventFilter):
    """The query parameters of the staff feed (videostreams/events/feed.json): the API's, plus `after`."""

    after = serializers.DateTimeField(required=False, help_text="Events updated after this time (ISO 8601).")


class RuleSerializer(serializers.ModelSerializer):
    cameras = serializers.PrimaryKeyRelatedField(many=True, queryset=Camera.objects.all(), required=False)
    watchlists = serializers.PrimaryKeyRelatedField(many=True, queryset=Watchlist.objects.all(), required=False)
    webhook_secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=200)
    has_webhook_secret = serializers.SerializerMethodField()

    class Meta:
        model = Rule
        fields = [
            "id", "name", "enabled", "trigger", "cameras", "watchlists", "webhook_url", "webhook_secret",
            "has_webhook_secret", "create_pending_enrollment", "gender", "age_min", "age_max", "emotion",
            "unknown_min_sightings", "unknown_min_days", "hours_start", "hours_end", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def get_has_webhook_secret(self, rule) -> bool:
        return bool(rule.webhook_secret)

    def validate_webhook_url(self, value):
        value = outbound.unredact(value.strip(), self.instance.webhook_url if self.instance else "")
        if value:
            try:
                outbound.check_webhook_url(value, resolve=False)
            except outbound.OutboundRefused as exc:
                raise serializers.ValidationError(str(exc)) from None
        return value

    def to_representation(self, rule):
        data = super().to_representation(rule)
        data["webhook_url"] = outbound.redact(rule.webhook_url)
        return data

    def validate(self, data):
        webhook = data.get("webhook_url", getattr(self.instance, "webhook_url", ""))
        pending = data.get("create_pending_enrollment", getattr(self.instance, "create_pending_enrollment", False))
        if not webhook and not pending:
            raise serializers.ValidationError({"webhook_url": "A rule needs an action: a webhook_url and/or create_pending_enrollment."})
        trigger = data.get("trigger", getattr(self.instance, "trigger", Rule.Trigger.MATCH))
        groups = data.get("unknown_min_sightings", getattr(self.instance, "unknown_min_sightings", None)) or data.get(
            "unknown_min_days", getattr(self.instance, "unknown_min_days", None))
        hours = [data.get(k, getattr(self.instance, k, None)) for k in ("hours_start", "hours_end")]
        if (hours[0] is None) != (hours[1] is None) or (hours[0] is not None and hours[0] == hours[1]):
            raise serializers.ValidationError({"hours_end": "Give both hours_start and hours_end, and different times."})
        if groups and trigger != Rule.Trigger.UNKNOWN:
            raise serializers.ValidationError({"trigger": "Conditions on unknown groups need trigger 'unknown'."})
        if pending and trigger == Rule.Trigger.MATCH:
            raise serializers.ValidationError({"create_pending_enrollment": "Pending enrolments are for unknown faces: use trigger 'unknown' or 'any'."})
        age_min = data.get("age_min", getattr(self.instance, "age_min", None))
        age_max = data.get("age_max", getattr(self.instance, "age_max", None))
        if age_min is not None and age_max is not None and age_min > age_max:
            raise serializers.ValidationError({"age_min": "age_min is above age_max."})
        return data


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "rule", "event", "url", "payload", "status", "attempts", "response_status", "last_error",
            "next_attempt_at", "created_at", "delivered_at",
        ]
        read_only_fields = fields

    def to_representation(self, delivery):
        data = super().to_representation(delivery)
        data["url"] = outbound.redact(delivery.url)
        return data
