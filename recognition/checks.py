"""Start-up checks: the model files and manifest are present and agree (cheap; checksums at build time),
and the configured embedder may be used."""
from django.conf import settings
from django.core import checks

from .manifest import check_models


@checks.register()
def models_present(app_configs, **kwargs):
    status = check_models(settings.FACEAPP_MODEL_DIR)
    return [
        checks.Warning(
            problem,
            hint="Run `python manage.py build_models` (make run and make test do it for you).",
            id="recognition.W001",
        )
        for problem in status.problems
    ]


@checks.register()
def embedder_allowed(app_configs, **kwargs):
    from .embedders import configuration_problem

    problem = configuration_problem()
    if problem is None:
        return []
    return [checks.Error(problem, hint="Set FACEAPP_EMBEDDER=facenet, or opt in explicitly.", id="recognition.E002")]


@checks.register()
def attribute_models_allowed(app_configs, **kwargs):
    from .attributes import configuration_problems

    return [
        checks.Error(problem, hint="Choose another model, 'none', or opt in explicitly (docs/models.md).", id="recognition.E003")
        for problem in configuration_problems()
    ]
