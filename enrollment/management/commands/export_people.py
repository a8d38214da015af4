import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from enrollment import portability
from enrollment.models import Person


class Command(BaseCommand):
    help = (
        "Export every person, watchlist and face for backup or migration, as JSON lines (format in "
        "enrollment/portability.py and README.md): a header line, one line per watchlist, one line per person with "
        "their faces' metadata and crops (JPEG, base64). Restore with `import_people`. The file holds biometric "
        "data: keep it as safe as the database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", default="-", metavar="FILE.jsonl", help="Where to write (default: standard output).")
        parser.add_argument(
            "--with-embeddings",
            action="store_true",
            help="Include each face's vector (512 floats), so an installation with the same model need not re-embed.",
        )
        parser.add_argument(
            "--with-source-images",
            action="store_true",
            help="Include each face's original photo (base64), so the restored faces keep it. Makes the file much larger.",
        )

    def handle(self, *args, output="-", with_embeddings=False, with_source_images=False, **options):
        bar = tqdm(total=Person.objects.count(), unit="person", desc="export", file=sys.stderr, dynamic_ncols=True)
        out = self.stdout if output == "-" else open(output, "w", encoding="utf-8")
        try:
            counts = portability.write_export(
                out, with_embeddings=with_embeddings, with_source_images=with_source_images, progress=bar.update
            )
        finally:
            bar.close()
            if output != "-":
                out.close()
        sys.stderr.write(
            f"Exported {counts['person']} people, {counts['face']} faces, {counts['watchlist']} watchlists"
            f"{' with embeddings' if with_embeddings else ''}{' and source photos' if with_source_images else ''}"
            f"{'' if output == '-' else f' to {output}'}.\n"
        )
