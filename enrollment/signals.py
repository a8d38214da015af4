"""Biometric data must not linger: a deleted face takes its files with it, once the deletion commits."""
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Face


@receiver(post_delete, sender=Face)
def delete_face_files(sender, instance: Face, **kwargs):
    names = [f.name for f in (instance.crop, instance.thumbnail, instance.source_image) if f and f.name]

    def delete():
        for name in names:
            instance.crop.storage.delete(name)

    transaction.on_commit(delete)
