from django.core.management.base import BaseCommand, CommandError
from django.core.exceptions import ImproperlyConfigured
from tqdm import tqdm

from enrollment.reembedding import faces_on_other_models, reembed_all
from recognition import embedders
from videostreams.reembedding import reembed_events

# This command lives in videostreams, the app above enrollment, because it re-embeds both apps' vectors: the
# gallery's (enrollment) and the camera events' (videostreams); imports only go downwards.


class Command(BaseCommand):
    help = (
        "Recompute every stored face vector (and pending enrolment and camera event) made by another model with the active "
        "embedder (FACEAPP_EMBEDDER), from the stored source photos or face crops, so that search works again "
        "after switching models without re-enrolling anyone. Batched and resumable: each batch is committed, and "
        "a re-run continues with the faces still on another model."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=32, help="Faces per embedding batch and per commit (default 32).")
        parser.add_argument("--limit", type=int, default=None, help="Re-embed at most this many faces, then stop (default: all).")

    def handle(self, *args, batch_size, limit, **options):
        try:
            chosen = embedders.active()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        target = embedders.model_id(chosen)
        total = faces_on_other_models(target).count()
        if limit is not None:
            total = min(total, limit)
        self.stdout.write(f"Re-embedding {total} face(s) with {chosen.name} ({target}).")
        with tqdm(total=total, unit="face", disable=total == 0) as bar:
            report = reembed_all(batch_size=batch_size, limit=limit, progress=bar.update)
        self.stdout.write(
            f"Done: {report.faces_done} face(s) re-embedded, {len(report.failed)} failed; "
            f"pending enrolments: {report.pending_done} re-embedded, {report.pending_deleted} deleted."
        )
        # Events are evidence, not a gallery: re-embedded too so that no stored vector is left in the old space.
        events_done, events_cleared = reembed_events(batch_size=batch_size)
        self.stdout.write(f"Events: {events_done} re-embedded, {events_cleared} cleared (no face in their crop).")
        for face_id, why in report.failed:
            self.stdout.write(f"  face {face_id}: {why}")
