import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from enrollment import portability


class Command(BaseCommand):
    help = (
        "Restore people, watchlists and faces from an `export_people` file (JSON lines; '-' reads standard input). "
        "Ids are kept. A face's exported vector is used when this installation's embedding model made it; otherwise "
        "(exported without --with-embeddings, or another model) the face is embedded again from its crop. "
        "Idempotent: what exists (by id) is left as it is, only what is missing is added, so re-running is safe. "
        "A person whose email or external id belongs to another person here is refused and reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE.jsonl", help="The export to restore ('-' for standard input).")

    def handle(self, *args, file, **options):
        try:
            handle = sys.stdin if file == "-" else open(file, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        bar = tqdm(unit="person", desc="import", file=sys.stderr, dynamic_ncols=True)
        try:
            summary = portability.import_lines(handle, progress=bar.update)
        except portability.ImportFileError as exc:
            raise CommandError(f"{file}: {exc}") from None
        finally:
            bar.close()
            if file != "-":
                handle.close()
        counts = summary.counts
        self.stdout.write(f"{file}: " + ", ".join(f"{key}: {value}" for key, value in sorted(counts.items())) if counts else f"{file}: nothing to import")
        for problem in summary.problems:
            self.stdout.write(f"  {problem}")
