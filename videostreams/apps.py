from django.apps import AppConfig


class VideostreamsConfig(AppConfig):
    name = "videostreams"
    verbose_name = "Video streams"
