"""Biometric data must not linger: a deleted event takes its images with it, once the deletion commits.

As for enrolled faces (enrollment/signals.py), this runs on every deletion path: one event, a queryset,
the cascade from a deleted camera, the admin, the retention task.
"""
import contextlib

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Event


@receiver(post_delete, sender=Event)
def delete_event_files(sender, instance: Event, **kwargs):
    names = instance.image_names()
    storage = instance.crop.storage

    def delete():
        for name in names:
            with contextlib.suppress(OSError):
                storage.delete(name)

    transaction.on_commit(delete)
