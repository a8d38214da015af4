from django.apps import AppConfig


class VideostreamsConfig(AppConfig):
    name = "videostreams"
    verbose_name = "Video streams"

    def ready(self):
        from . import signals  # noqa: F401  (deletes event images with their events)
        from enrollment import undo
        from faceapp.audit.models import Action

        from .corrections import undo_not_person

        undo.register(Action.EVENT_NOT_PERSON, undo_not_person)
