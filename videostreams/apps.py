from django.apps import AppConfig


class VideostreamsConfig(AppConfig):
    name = "videostreams"
    verbose_name = "Video streams"

    def ready(self):
        from . import signals  # noqa: F401  (deletes event images with their events)
