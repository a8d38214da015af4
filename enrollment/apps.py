from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = "Enrolment"

    def ready(self):
        from . import signals  # noqa: F401  (connects the file clean-up)
