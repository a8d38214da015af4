from django.core.management.base import BaseCommand

from enrollment import estimates
from enrollment.models import Face, Sighting


class Command(BaseCommand):
    help = (
        "Estimate gender, age and emotion of the enrolled faces (FACEAPP_FACE_ATTRIBUTES) and of the sightings "
        "(FACEAPP_SIGHTING_ATTRIBUTES) from their stored crops: those kept before estimates existed, or, with --all, "
        "every row (after changing a model). The people page and the search of the past filter on them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Estimate every row again, not only rows without estimates.")

    def handle(self, *args, **options):
        faces = estimates.fill(Face.objects.all(), estimates.kinds("FACEAPP_FACE_ATTRIBUTES"), everything=options["all"])
        seen = estimates.fill(Sighting.objects.all(), estimates.kinds("FACEAPP_SIGHTING_ATTRIBUTES"), everything=options["all"])
        self.stdout.write(self.style.SUCCESS(f"estimated {faces} faces and {seen} sightings"))
