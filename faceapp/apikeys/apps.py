from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "faceapp.apikeys"
    label = "apikeys"
    verbose_name = "API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from faceapp import schema  # noqa: F401  (registers the API-key scheme with drf-spectacular)
