"""Biometric data must not linger: a deleted face takes its files with it, once the deletion commits."""
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Face, Sighting


@receiver(post_delete, sender=Face)
def delete_face_files(sender, instance: Face, **kwargs):
    names = [f.name for f in (instance.crop, instance.thumbnail, instance.source_image) if f and f.name]

    def delete():
        for name in names:
            instance.crop.storage.delete(name)

    transaction.on_commit(delete)


@receiver(post_save, sender=Face)
@receiver(post_delete, sender=Face)
def gallery_changed(sender, **kwargs):
    """The decision's threshold depends on the gallery's size: this process counts again at its next search, and
    the others (every node's, through faceapp.broadcast when Redis is configured; else within
    decision.CACHE_SECONDS) once the change commits."""
    from faceapp import broadcast

    from . import decision

    decision.forget_cached()
    transaction.on_commit(lambda: broadcast.publish("gallery"))


@receiver(post_delete, sender=Sighting)
def delete_sighting_crop(sender, instance: Sighting, **kwargs):
    """A sighting's crop goes with its row (retention, erasure of a person or a group), once the deletion commits."""
    name = instance.crop.name if instance.crop else ""
    if name:
        transaction.on_commit(lambda: instance.crop.storage.delete(name))
