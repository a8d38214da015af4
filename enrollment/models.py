"""People, their faces (with embeddings), and pending enrolments waiting for an add_user call."""
from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from pgvector.django import VectorField

from recognition.manifest import EMBEDDING_SIZE

from . import vectors
from .estimates import EstimatedAttributes
from .validators import validate_birthdate


class Watchlist(models.Model):
    """A named group of people (FindFace's gallery, CompreFace's collection); a person may be in several."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Person(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    # Stored lower-cased by the services; NULL (not '') when absent, so that uniqueness applies only when given.
    email = models.EmailField(max_length=254, null=True, blank=True, unique=True)
    birthdate = models.DateField(null=True, blank=True, validators=[validate_birthdate])
    external_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    metadata = models.JSONField(default=dict, blank=True)
    watchlists = models.ManyToManyField(Watchlist, related_name="people", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "created_at"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self):
        return self.name


def _face_path(kind: str, instance, filename: str) -> str:
    # Spread files over 256 folders by the person's id, so no folder grows huge.
    return f"faces/{kind}/{str(instance.person_id)[:2]}/{filename}"


def crop_path(instance, filename):
    return _face_path("crops", instance, filename)


def thumbnail_path(instance, filename):
    return _face_path("thumbs", instance, filename)


def source_path(instance, filename):
    return _face_path("sources", instance, filename)


class Face(EstimatedAttributes):
    """One enrolled face: its embedding, the crop it was computed from, and where it came from."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="faces")
    embedding = VectorField(dimensions=EMBEDDING_SIZE)
    # Which model made the vector ("facenet:<sha256 prefix>"); search compares only equal models.
    embedding_model = models.CharField(max_length=64)
    embedding_model_name = vectors.model_name_field()  # 'facenet_ms1m': what the per-model index is restricted to
    crop = models.ImageField(upload_to=crop_path)
    thumbnail = models.ImageField(upload_to=thumbnail_path)
    source_image = models.FileField(upload_to=source_path, blank=True)
    source = models.CharField(max_length=500, blank=True, help_text="Where the face came from: an upload's name, a req_id, a path.")
    source_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    box = models.JSONField(default=dict)
    landmarks = models.JSONField(default=list)
    quality = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # How this face scores against the other enrolled people (AS-norm's cohort statistics, enrollment.cohort):
    # the mean and spread of its top-`cohort_k` per-person similarities, when the cohort had `cohort_people`.
    cohort_mean = models.FloatField(null=True, blank=True, editable=False)
    cohort_std = models.FloatField(null=True, blank=True, editable=False)
    cohort_people = models.PositiveIntegerField(null=True, blank=True, editable=False)
    cohort_k = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at"]
        indexes = vectors.hnsw_indexes("face")

    def __str__(self):
        return f"face of {self.person_id}"


def new_req_id() -> str:
    return secrets.token_hex(16)


class PendingEnrollmentQuerySet(models.QuerySet):
    def unexpired(self, now=None):
        return self.filter(expires_at__gt=now or timezone.now())

    def expired(self, now=None):
        return self.filter(expires_at__lte=now or timezone.now())


class PendingEnrollment(models.Model):
    """A face seen by recognise_user that matched nobody, kept until `expires_at` for add_user.

    The crop is kept in the row (a few KB of JPEG), so deleting the row erases every trace of it.
    """

    req_id = models.CharField(primary_key=True, max_length=64, default=new_req_id, editable=False)
    embedding = VectorField(dimensions=EMBEDDING_SIZE)
    embedding_model = models.CharField(max_length=64)
    crop_jpeg = models.BinaryField()
    box = models.JSONField(default=dict)
    landmarks = models.JSONField(default=list)
    quality = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    objects = PendingEnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.req_id

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class Calibration(models.Model):
    """An impostor-score calibration fitted on an operator's own labelled photos (`manage.py evaluate --calibrate`).

    It replaces the calibration shipped with the model for vectors of exactly `embedding_model`.
    """

    embedding_model = models.CharField(max_length=64, db_index=True)
    parameters = models.JSONField()  # recognition.calibration.ImpostorTail.as_dict()
    source = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"calibration of {self.embedding_model} ({self.created_at:%Y-%m-%d})"


class ImportJob(models.Model):
    """A bulk upload from the operator pages (a ZIP or a folder of per-person folders), imported in the background
    by the same code as `manage.py import_faces` (enrollment/importing.py); see enrollment/import_jobs.py."""

    class Status(models.TextChoices):
        UPLOADING = "uploading", "Uploading"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=300, help_text="The ZIP's or the folder's name.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADING, db_index=True)
    watchlist = models.CharField(max_length=200, blank=True, help_text="Every imported person is added to this watchlist.")
    on_multiple_faces = models.CharField(max_length=16, default="largest")
    total = models.PositiveIntegerField(default=0, help_text="Photos found in the upload.")
    next_index = models.PositiveIntegerField(default=0, help_text="Photos handled so far, in path order (where a resume starts).")
    counts = models.JSONField(default=dict, blank=True, help_text="Photos per outcome (importing.REASONS).")
    people_created = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    stop_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.status})"

    @property
    def processed(self) -> int:
        return sum(self.counts.values()) if self.counts else 0

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.STOPPED, self.Status.FAILED)


class ImportJobPhoto(models.Model):
    """One photo of a bulk upload and what became of it (the per-photo report)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="photos")
    index = models.PositiveIntegerField(help_text="Its place in the upload, in path order.")
    path = models.CharField(max_length=1000, help_text="Relative to the upload: person folder / file.")
    person_name = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=32, help_text="imported, or why not (importing.REASONS).")
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["index"]
        indexes = [models.Index(fields=["job", "index"]), models.Index(fields=["job", "reason"])]


from .sighting_models import Sighting, SightingExclusion, UnknownGroup, label_of, parse_label  # noqa: E402,F401
