"""Sightings (every face seen, by a camera or by an API search that opts in), the unknown groups that gather the
sightings of nobody enrolled, and the operators' "not this one" corrections. Imported by enrollment.models.

Why here and not in videostreams: a sighting points at an identity (a person or an unknown group), API searches
make them as well as cameras, and naming, merging and correcting are operations on identities. A camera's
`videostreams.Event` stays the camera's record of a track; when the track ends, videostreams keeps its best shot as
a sighting here (`event_id` links back, without a foreign key, so that imports go downwards only).
"""
from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from pgvector.django import VectorField

from recognition.manifest import EMBEDDING_SIZE

from . import vectors
from .estimates import EstimatedAttributes


class UnknownGroup(models.Model):
    """A persistent unknown identity: sightings of somebody who matches no enrolled person, gathered as they
    arrive and regrouped by the periodic sweep. Its id (shown as `U-000123`) survives sweeps (enrollment.sweep)."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return label_of(self.id)


def label_of(group_id: int) -> str:
    return f"U-{group_id:06d}"


def parse_label(value) -> int | None:
    """`U-000123`, `123` or 123 → 123; anything else → None."""
    text = str(value).strip().upper()
    text = text[2:] if text.startswith("U-") else text
    return int(text) if text.isdigit() else None


def sighting_crop_path(instance, filename):
    when = instance.seen_at or timezone.now()
    return f"sightings/{when:%Y/%m/%d}/{filename}"


class Sighting(EstimatedAttributes):
    """One face seen: its vector, crop, when, where (camera or API key), and the decision taken on it.

    The table is partitioned by week of `seen_at` (migration 0013, enrollment.sighting_partitions): its database
    primary key is (id, seen_at), Django's is `id`."""

    class Source(models.TextChoices):
        CAMERA = "camera", "Camera"
        API = "api", "API search"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=16, choices=Source.choices, db_index=True)
    seen_at = models.DateTimeField(db_index=True)
    until = models.DateTimeField(help_text="The end of the track (cameras); equal to seen_at for a photo.")
    camera_id = models.UUIDField(null=True, blank=True, db_index=True)
    camera_name = models.CharField(max_length=200, blank=True)
    event_id = models.UUIDField(null=True, blank=True, db_index=True)
    api_key_name = models.CharField(max_length=120, blank=True)
    # Faces with the same frame key come from one photo (its SHA-256): they can never be the same identity.
    frame_key = models.CharField(max_length=80, blank=True, db_index=True)
    embedding = VectorField(dimensions=EMBEDDING_SIZE)
    embedding_model = models.CharField(max_length=64)
    embedding_model_name = vectors.model_name_field()
    crop = models.ImageField(upload_to=sighting_crop_path)
    box = models.JSONField(default=dict)
    quality = models.FloatField(default=0.0, help_text="0-1 usefulness of the face (recognition.quality.score).")
    quality_details = models.JSONField(default=dict)
    verdict = models.CharField(max_length=16, help_text="The decision taken when it was seen: named, close, unknown, low_quality.")
    similarity = models.FloatField(null=True, blank=True)
    decision = models.JSONField(default=dict, blank=True)
    person = models.ForeignKey("enrollment.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="sightings")
    unknown_group = models.ForeignKey(UnknownGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="sightings")
    pinned = models.BooleanField(default=False, help_text="Placed by an operator (merge): sweeps do not move it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seen_at"]
        indexes = [
            *vectors.hnsw_indexes("sighting"),
            models.Index(fields=["camera_id", "-seen_at"]),
            models.Index(fields=["unknown_group", "-quality"]),
        ]

    def __str__(self):
        return f"sighting {self.id} ({self.source}, {self.seen_at:%Y-%m-%d %H:%M:%S})"

    @property
    def place(self) -> str:
        return self.camera_name or (f"API key {self.api_key_name}" if self.api_key_name else "API")


class SightingExclusion(models.Model):
    """An operator's "not this one", remembered so that neither a sweep nor a later assignment undoes it: the
    sighting is not `person`, or it is not the same identity as the sighting `other` ("not this group" stores one
    row per member of the group at that time: a group's id may change in a sweep, its faces do not)."""

    # Kept by Django, not by a database constraint: the sightings table is partitioned by seen_at (migration 0013),
    # and PostgreSQL's key to it would have to include seen_at. The ORM's cascade still deletes these rows with
    # their sighting; sighting_partitions.drop_expired deletes them before dropping a week.
    sighting = models.ForeignKey(Sighting, on_delete=models.CASCADE, related_name="exclusions", db_constraint=False)
    person = models.ForeignKey("enrollment.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Sighting, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(person__isnull=False) | models.Q(other__isnull=False),
                                   name="sighting_exclusion_names_something"),
        ]
