from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from django import forms

from .forms import CameraSecretsMixin, RuleSecretsForm
from .models import Camera, Event, Rule, WebhookDelivery
from .outbound import redact


class CameraAdminForm(CameraSecretsMixin, forms.ModelForm):
    class Meta:
        model = Camera
        fields = "__all__"


class RuleAdminForm(RuleSecretsForm):
    class Meta:
        model = Rule
        fields = "__all__"

STATUS_FIELDS = (
    "status", "last_error", "last_frame_at", "frames_per_second", "faces_per_second", "frames_dropped", "frames_still",
    "reconnects", "status_updated_at", "lease_owner", "lease_expires_at",
)


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    form = CameraAdminForm
    list_display = ("name", "enabled", "mode", "status", "frames_per_second", "faces_per_second", "frames_dropped", "last_frame_at", "last_error")
    list_filter = ("enabled", "mode", "status")
    list_editable = ("enabled",)
    search_fields = ("name",)
    filter_horizontal = ("watchlists",)
    readonly_fields = STATUS_FIELDS
    fieldsets = (
        (None, {"fields": ("name", "source", "enabled", "mode")}),
        ("Analysis", {"fields": ("sample_fps", "min_face_size", "min_quality", "roi", "detect_interval", "min_track_frames", "preset",
                                  "match_threshold", "watchlists", "attributes")}),
        ("Live status (written by the runner)", {"fields": STATUS_FIELDS}),
    )


def _image(event, kind, size):
    if not getattr(event, kind):
        return "-"
    url = reverse("videostreams:event-image", kwargs={"pk": event.pk, "kind": kind})
    return format_html('<a href="{}" target="_blank"><img src="{}" style="max-width:{}px;max-height:{}px"></a>', url, url, size, size)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("face", "who", "similarity", "camera", "first_seen", "last_seen", "quality", "gender", "age", "emotion", "closed")
    list_filter = ("matched", "camera", "closed", "gender", "emotion", "first_seen")
    list_select_related = ("camera", "person")
    search_fields = ("person__name", "camera__name")
    date_hierarchy = "first_seen"
    raw_id_fields = ("person",)
    exclude = ("embedding",)
    readonly_fields = (
        "crop_image", "frame_image", "camera", "track_id", "first_seen", "last_seen", "person", "similarity", "matched",
        "quality", "quality_details", "box", "frame_width", "frame_height", "embedding_model", "frames_seen", "closed",
        "crop", "thumbnail", "frame", "gender", "gender_score", "age", "emotion", "attributes",
    )

    @admin.display(description="Face")
    def face(self, event):
        return _image(event, "thumbnail", 64)

    @admin.display(description="Best shot")
    def crop_image(self, event):
        return _image(event, "crop", 160)

    @admin.display(description="Full frame")
    def frame_image(self, event):
        return _image(event, "frame", 640)

    @admin.display(description="Who", ordering="person__name")
    def who(self, event):
        return event.person.name if event.person_id else "unknown"

    def has_add_permission(self, request):
        return False


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleAdminForm
    list_display = ("name", "enabled", "trigger", "webhook", "create_pending_enrollment", "gender", "age_min", "age_max", "emotion")
    list_filter = ("enabled", "trigger")
    filter_horizontal = ("cameras", "watchlists")

    @admin.display(description="Webhook URL")
    def webhook(self, rule):
        return redact(rule.webhook_url)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "rule", "masked_url", "status", "attempts", "response_status", "last_error")
    list_filter = ("status",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields if f.name != "url"] + ["masked_url"]
    exclude = ("url",)

    @admin.display(description="URL")
    def masked_url(self, delivery):
        return redact(delivery.url)

    def has_add_permission(self, request):
        return False
