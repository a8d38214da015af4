"""Cameras, the events seen on them, the rules that act on events, and the webhook delivery log."""
from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from pgvector.django import VectorField

from enrollment import estimates
from enrollment.models import EMBEDDING_SIZE, Person, Watchlist
from recognition.attributes import EMOTIONS, GENDERS, KINDS

from . import outbound


def validate_roi(value):
    """A region of interest is empty (the whole frame) or [x1, y1, x2, y2] as fractions of the frame."""
    if value in (None, [], {}):
        return
    if not isinstance(value, list) or len(value) != 4 or not all(isinstance(v, (int, float)) for v in value):
        raise ValidationError("Give the region of interest as [x1, y1, x2, y2], fractions of the frame between 0 and 1.")
    x1, y1, x2, y2 = value
    if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
        raise ValidationError("The region of interest needs 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1.")


ATTRIBUTE_KINDS = KINDS  # what a camera may ask for: gender, age, emotion
GENDER_CHOICES = [(g, g) for g in GENDERS]
EMOTION_CHOICES = [(e, e) for e in EMOTIONS]


def default_camera_attributes():
    return list(ATTRIBUTE_KINDS)


def validate_attribute_kinds(value):
    """A camera's attributes: a list of gender, age, emotion (empty: none)."""
    if not isinstance(value, list) or any(v not in ATTRIBUTE_KINDS for v in value):
        raise ValidationError(f"Give a list of attributes among {', '.join(ATTRIBUTE_KINDS)} (empty: none).")


class Camera(models.Model):
    """A video source and how to analyse it; the runner that owns it writes its live status here."""

    class Mode(models.TextChoices):
        REALTIME = "realtime", "Realtime: an event as soon as a face is recognised, updated later"
        BEST_SHOT = "best_shot", "Best shot: one event when the face's track ends"

    class Status(models.TextChoices):
        STOPPED = "stopped", "Stopped"
        STARTING = "starting", "Starting"
        RUNNING = "running", "Running"
        RECONNECTING = "reconnecting", "Reconnecting"
        ERROR = "error", "Error"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    source = models.CharField(
        max_length=1000,
        help_text="rtsp://, http(s):// (MJPEG or any FFmpeg stream), a video file path, or a local device index (0, 1, ...).",
    )
    enabled = models.BooleanField(default=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.REALTIME)
    sample_fps = models.FloatField(default=5.0, help_text="Frames per second to analyse (the rest are skipped).")
    min_face_size = models.PositiveIntegerField(default=40, help_text="Smallest face to detect, in pixels of the frame.")
    min_quality = models.FloatField(default=0.3, help_text="Faces scoring below this quality (0-1) are ignored.")
    roi = models.JSONField(
        default=list, blank=True, validators=[validate_roi], help_text="Region of interest [x1, y1, x2, y2] as fractions; empty: the whole frame."
    )
    match_threshold = models.FloatField(null=True, blank=True, help_text="A raw cosine threshold (experts); empty: the preset decides.")
    preset = models.CharField(max_length=20, blank=True, default="", choices=[("strict", "strict (0.1% of strangers named)"),
                              ("balanced", "balanced (1%)"), ("permissive", "permissive (5%)")],
                              help_text="Decision preset for this camera; empty: FACEAPP_MATCH_PRESET.")
    watchlists = models.ManyToManyField(Watchlist, blank=True, related_name="cameras", help_text="Match only these watchlists' people; none: everybody.")
    attributes = models.JSONField(
        default=default_camera_attributes, blank=True, validators=[validate_attribute_kinds],
        help_text="Face attributes estimated once per track's best shot and stored with its event (gender, age, emotion; "
                  "those without a model on this server are skipped). Empty: none.",
    )
    detect_interval = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Moving parts next to tracked faces are searched for new faces every this many analysed frames; tracked faces "
        "are followed in every frame and nothing is detected while nothing moves. 1: the whole picture every frame, every face embedded.",
    )
    min_track_frames = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="A face must be seen in this many analysed frames before its track makes an event or fires a rule.",
    )

    # Live status, written by the runner that holds the lease.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STOPPED)
    last_error = models.TextField(blank=True)
    last_frame_at = models.DateTimeField(null=True, blank=True)
    frames_per_second = models.FloatField(default=0.0, help_text="Frames analysed per second, recently.")
    faces_per_second = models.FloatField(default=0.0)
    frames_dropped = models.PositiveBigIntegerField(default=0, help_text="Frames dropped by the bounded queue since the runner took the camera.")
    frames_still = models.PositiveBigIntegerField(default=0, help_text="Frames not detected on because nothing moved, since the runner took the camera.")
    reconnects = models.PositiveIntegerField(default=0, help_text="Failed opens or lost streams since the runner took the camera.")
    status_updated_at = models.DateTimeField(null=True, blank=True)
    # The lease: a runner owns the camera while lease_expires_at is in the future (see runner.claim).
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def source_display(self) -> str:
        """The source without its password: what the API, the UI and the logs show (the reader uses `source`)."""
        return outbound.redact(self.source)

    def clean(self):
        super().clean()
        try:
            outbound.check_camera_source(self.source, resolve=False)
        except outbound.OutboundRefused as exc:
            raise ValidationError({"source": str(exc)}) from None


def _event_path(kind: str, instance, filename: str) -> str:
    when = instance.first_seen or timezone.now()
    return f"events/{kind}/{when:%Y/%m/%d}/{filename}"


def event_crop_path(instance, filename):
    return _event_path("crops", instance, filename)


def event_thumbnail_path(instance, filename):
    return _event_path("thumbs", instance, filename)


def event_frame_path(instance, filename):
    return _event_path("frames", instance, filename)


class EventQuerySet(models.QuerySet):
    def filtered(self, *, camera=None, person=None, watchlist=None, matched=None, since=None, until=None,
                 gender=None, age_min=None, age_max=None, emotion=None):
        """The API's filters; None means no filter. A time range keeps events overlapping it; an attribute filter
        keeps only events whose attribute was estimated and lies in the range (age_min ≤ age ≤ age_max)."""
        queryset = estimates.filtered(self, gender=gender, age_min=age_min, age_max=age_max, emotion=emotion)
        if camera is not None:
            queryset = queryset.filter(camera_id=camera)
        if person is not None:
            queryset = queryset.filter(person_id=person)
        if watchlist is not None:
            queryset = queryset.filter(person__watchlists=watchlist)
        if matched is not None:
            queryset = queryset.filter(matched=matched)
        if since is not None:
            queryset = queryset.filter(last_seen__gte=since)
        if until is not None:
            queryset = queryset.filter(first_seen__lte=until)
        return queryset


class Event(models.Model):
    """A face followed across frames on one camera: its best shot, the frame it came from, and who it is."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="events")
    track_id = models.CharField(max_length=64, help_text="The tracker's id of the face within the runner's session.")
    first_seen = models.DateTimeField(db_index=True)
    last_seen = models.DateTimeField()
    # Erasure: deleting a person deletes what the cameras kept of them (crop, frame, thumbnail, vector), not only their
    # enrolled faces; relabelling the events "unknown" would keep the biometric data until retention.
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    similarity = models.FloatField(null=True, blank=True)
    matched = models.BooleanField(default=False, db_index=True)
    votes = models.JSONField(default=dict, blank=True, help_text="How the track's best shots voted on its name (videostreams/voting.py).")
    quality = models.FloatField(help_text="Quality score (0-1) of the best shot.")
    quality_details = models.JSONField(default=dict)
    box = models.JSONField(default=dict, help_text="The best shot's box in the full frame: x, y, width, height (pixels).")
    frame_width = models.PositiveIntegerField(default=0)
    frame_height = models.PositiveIntegerField(default=0)
    crop = models.ImageField(upload_to=event_crop_path)
    thumbnail = models.ImageField(upload_to=event_thumbnail_path)
    frame = models.ImageField(upload_to=event_frame_path, blank=True)
    embedding = VectorField(dimensions=EMBEDDING_SIZE, null=True, blank=True)
    embedding_model = models.CharField(max_length=64, blank=True)
    frames_seen = models.PositiveIntegerField(default=1)
    # Face attributes of the best shot (recognition.attributes), when the camera asks for them and a model is enabled.
    gender = models.CharField(max_length=8, null=True, blank=True, choices=GENDER_CHOICES, db_index=True)
    gender_score = models.FloatField(null=True, blank=True)
    age = models.FloatField(null=True, blank=True, db_index=True, help_text="Estimated age in years.")
    emotion = models.CharField(max_length=10, null=True, blank=True, choices=EMOTION_CHOICES)
    attributes = models.JSONField(default=dict, blank=True, help_text="Every estimate with its scores and models.")
    closed = models.BooleanField(default=False, help_text="The track has ended; the event will not change again.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-first_seen"]
        indexes = [models.Index(fields=["camera", "-first_seen"]), models.Index(fields=["person", "-first_seen"])]

    def __str__(self):
        who = self.person.name if self.person_id and self.person else "unknown"
        return f"{who} on {self.camera_id} at {self.first_seen:%Y-%m-%d %H:%M:%S}"

    def image_names(self) -> list[str]:
        return [f.name for f in (self.crop, self.thumbnail, self.frame) if f]

    @property
    def estimates(self) -> dict | None:
        """The indexed estimates (gender, age, emotion) the operator pages show as badges; None when none was made."""
        values = {"gender": self.gender, "age": self.age, "emotion": self.emotion}
        return values if any(v is not None for v in values.values()) else None


class EventNotPerson(models.Model):
    """An operator's "not this person" on a camera event, kept for the event's track: while the runner still follows
    the track, its later decisions do not name the person (videostreams.processing); when the track ends, its
    sighting carries the exclusion (enrollment's SightingExclusion, through videostreams.sightings)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="not_people")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="event_exclusions")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "person"], name="event_not_person_once")]


class Rule(models.Model):
    """facerouter's directive: when a face of this kind is seen on these cameras, do these actions."""

    class Trigger(models.TextChoices):
        MATCH = "match", "A matched face (of the rule's watchlists; none: anybody enrolled)"
        UNKNOWN = "unknown", "An unknown face"
        ANY = "any", "Any face"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    enabled = models.BooleanField(default=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MATCH)
    cameras = models.ManyToManyField(Camera, blank=True, related_name="rules", help_text="None: every camera.")
    watchlists = models.ManyToManyField(Watchlist, blank=True, related_name="rules", help_text="For 'match': none means any enrolled person.")
    webhook_url = models.URLField(max_length=1000, blank=True, help_text="POST a JSON body here (blank: no webhook).")
    webhook_secret = models.CharField(max_length=200, blank=True, help_text="Key of the X-Faceapp-Signature HMAC-SHA256 header.")
    create_pending_enrollment = models.BooleanField(
        default=False, help_text="For unknown faces: hold the face as a pending enrolment (req_id) for an operator to enrol."
    )
    # Conditions on the face's estimated attributes (blank / null: any). An event without the attribute does not match.
    gender = models.CharField(max_length=8, blank=True, default="", choices=GENDER_CHOICES, help_text="Only faces of this gender.")
    age_min = models.FloatField(null=True, blank=True, help_text="Only faces estimated at least this old.")
    age_max = models.FloatField(null=True, blank=True, help_text="Only faces estimated at most this old.")
    emotion = models.CharField(max_length=10, blank=True, default="", choices=EMOTION_CHOICES, help_text="Only faces showing this emotion.")
    # Conditions on the unknown group of an unknown face (videostreams.unknown_rules): each rule fires once per group.
    unknown_min_sightings = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="For 'unknown': fire once the face's unknown group has been seen this many times (once per group).")
    unknown_min_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="For 'unknown': fire once the face's unknown group has been seen on this many distinct days (UTC; once per group).")
    # "Seen outside hours": with both set, the rule fires only for faces seen outside [hours_start, hours_end) in
    # TIME_ZONE (an end before the start spans midnight: 08:00-18:00 fires at night, 22:00-06:00 in the day).
    hours_start = models.TimeField(null=True, blank=True, help_text="Opening hours' start; with hours_end, fire only outside them.")
    hours_end = models.TimeField(null=True, blank=True, help_text="Opening hours' end (TIME_ZONE).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.webhook_url:
            try:
                outbound.check_webhook_url(self.webhook_url, resolve=False)
            except outbound.OutboundRefused as exc:
                raise ValidationError({"webhook_url": str(exc)}) from None

    def outside_hours(self, when) -> bool:
        """True when the rule has no hours, or `when` (aware) lies outside them in TIME_ZONE."""
        if self.hours_start is None or self.hours_end is None:
            return True
        from django.utils import timezone

        at = timezone.localtime(when).time()
        if self.hours_start <= self.hours_end:
            inside = self.hours_start <= at < self.hours_end
        else:  # the hours span midnight
            inside = at >= self.hours_start or at < self.hours_end
        return not inside

    @property
    def has_group_conditions(self) -> bool:
        return bool(self.unknown_min_sightings or self.unknown_min_days)

    def attributes_match(self, event: "Event") -> bool:
        """The rule's attribute conditions hold for the event (an estimate it lacks fails a condition on it)."""
        if self.gender and event.gender != self.gender:
            return False
        if self.emotion and event.emotion != self.emotion:
            return False
        if self.age_min is not None or self.age_max is not None:
            if event.age is None:
                return False
            if self.age_min is not None and event.age < self.age_min:
                return False
            if self.age_max is not None and event.age > self.age_max:
                return False
        return True


class RuleGroupFiring(models.Model):
    """A rule with unknown-group conditions fired for this group: it does not fire for it again."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="group_firings")
    group_id = models.BigIntegerField(help_text="The unknown group (enrollment.UnknownGroup id; no foreign key: groups come and go).")
    fired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "group_id"], name="rule_fires_once_per_group")]


class WebhookDelivery(models.Model):
    """One webhook POST of one event, with every attempt's outcome (the delivery log)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rule = models.ForeignKey(Rule, null=True, on_delete=models.SET_NULL, related_name="deliveries")
    event = models.ForeignKey(Event, null=True, on_delete=models.SET_NULL, related_name="deliveries")
    url = models.URLField(max_length=1000)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"{self.url} ({self.status})"


class CameraRunner(models.Model):
    """A live camera runner (run_cameras), renewed at each of its refreshes: the runners count one another to take
    an even share of the cameras, and a runner unseen for a lease's length is gone (its cameras are taken over)."""

    owner = models.CharField(max_length=200, primary_key=True)  # the lease owner it writes on its cameras
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    cameras = models.PositiveIntegerField(default=0, help_text="Cameras it held at its last refresh.")

    class Meta:
        ordering = ["started_at"]

    def __str__(self):
        return self.owner
