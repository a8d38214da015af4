"""The audit log: who did what, when, through which API key or user. Written by the services, read in the admin."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    PERSON_CREATE = "person.create", "person created"
    PERSON_UPDATE = "person.update", "person changed"
    PERSON_DELETE = "person.delete", "person deleted"
    FACE_ADD = "face.add", "face added"
    FACE_DELETE = "face.delete", "face deleted"
    WATCHLIST_CREATE = "watchlist.create", "watchlist created"
    WATCHLIST_UPDATE = "watchlist.update", "watchlist changed"
    WATCHLIST_DELETE = "watchlist.delete", "watchlist deleted"
    IDENTIFY = "identify", "identify (search)"
    VERIFY = "verify", "verify"
    RECOGNISE = "recognise", "recognise_user (search)"
    SIGHTING_SEARCH = "sighting.search", "sightings searched by face"
    SIGHTING_NOT_PERSON = "sighting.not_person", "sighting: not this person"
    SIGHTING_NOT_GROUP = "sighting.not_group", "sighting: not this unknown group"
    GROUP_ENROL = "group.enrol", "unknown group enrolled as a new person"
    GROUP_ADD_TO_PERSON = "group.add_to_person", "unknown group added to a person"
    GROUP_MERGE = "group.merge", "unknown groups merged"
    GROUP_NOT_PERSON = "group.not_person", "unknown group: not this person"
    GROUP_DELETE = "group.delete", "unknown group erased"
    PERSON_MERGE = "person.merge", "people merged"
    PERSON_SPLIT = "person.split", "faces split off into a new person"
    FACE_MOVE = "face.move", "face moved to another person"
    EVENT_NOT_PERSON = "event.not_person", "camera event: not this person"
    UNDO = "correction.undo", "correction undone"


class AuditEntry(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    # Who: the key and/or user, kept by reference and by name (the name survives the key's deletion).
    api_key = models.ForeignKey("apikeys.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    api_key_name = models.CharField(max_length=120, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150, blank=True)
    # What: the object's kind and id (not a foreign key: the entry outlives the person it describes).
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"

    def __str__(self):
        who = self.api_key_name or self.username or "anonymous"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {who}: {self.action} {self.target_type} {self.target_id}".strip()
