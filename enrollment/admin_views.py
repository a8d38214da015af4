"""The admin's 'Models' page: which embedder is active, the built model files, and their licences."""
from django.conf import settings
from django.contrib import admin
from django.db.models import Count
from django.template.response import TemplateResponse

from recognition import embedders, runtime
from recognition.manifest import read_manifest

from .models import Face


def models_page(request):
    problem = embedders.configuration_problem()
    active = embedders.EMBEDDERS.get(settings.FACEAPP_EMBEDDER, embedders.FACENET)
    counts = {row["embedding_model"].split(":")[0]: row["n"] for row in Face.objects.values("embedding_model").annotate(n=Count("id"))}
    manifest = read_manifest(settings.FACEAPP_MODEL_DIR) or {}
    context = {
        **admin.site.each_context(request),
        "title": "Models",
        "active": active,
        "model_id": embedders.model_id(active),
        "threshold": settings.FACEAPP_MATCH_THRESHOLD if settings.FACEAPP_MATCH_THRESHOLD is not None else f"preset {settings.FACEAPP_MATCH_PRESET}",
        "providers": runtime.resolve_providers(),
        "problem": problem,
        "embedders": [
            {
                "name": e.name,
                "description": e.description,
                "threshold": settings.DEFAULT_MATCH_THRESHOLDS.get(e.name),
                "non_commercial": e.non_commercial,
                "faces": counts.get(e.model, 0),
                "active": e is active,
            }
            for e in embedders.EMBEDDERS.values()
        ],
        "files": sorted(manifest.get("models", {}).items()),
    }
    return TemplateResponse(request, "admin/models.html", context)
