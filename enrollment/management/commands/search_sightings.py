from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from enrollment import people, sighting_search
from enrollment.identification import current_embedding_model
from enrollment.models import parse_label
from recognition.exceptions import FaceAppError


class Command(BaseCommand):
    help = (
        "Search the past by face: the sightings most similar to a photo's largest face (--image), an enrolled person "
        "(--person, the mean of their faces) or an unknown group (--group U-000123), best first, with time, place, "
        "similarity and the decision taken when each was seen. The same search as POST /api/v1/sightings/search "
        "(enrollment.sighting_search); it only reads, and is audited as a system search."
    )

    def add_arguments(self, parser):
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--image", help="A photo file: its largest face is searched for.")
        what.add_argument("--person", help="An enrolled person's id.")
        what.add_argument("--group", help="An unknown group's id (U-000123).")
        parser.add_argument("--camera", help="Only sightings of this camera (its id).")
        parser.add_argument("--since", help="Only sightings seen at or after this ISO 8601 time.")
        parser.add_argument("--until", help="Only sightings seen at or before this ISO 8601 time.")
        parser.add_argument("--limit", type=int, default=20, help="How many sightings to list (1-1000, default 20).")

    def handle(self, *args, **options):
        model = current_embedding_model()
        since, until = (self._time(options[key], key) for key in ("since", "until"))
        if not 1 <= options["limit"] <= sighting_search.MAX_RESULTS:
            raise CommandError(f"--limit must be between 1 and {sighting_search.MAX_RESULTS}.")
        try:
            if options["image"]:
                with open(options["image"], "rb") as photo:
                    vector, query = sighting_search.vector_of_image(photo.read())
            elif options["person"]:
                vector, query = sighting_search.vector_of_person(people.get_person(options["person"]), model)
            else:
                number = parse_label(options["group"])
                if number is None:
                    raise CommandError("--group takes an unknown group id such as U-000123.")
                vector, query = sighting_search.vector_of_group(number)
            result = sighting_search.search(vector, query=query, embedding_model=model, camera=options["camera"] or None,
                                            since=since, until=until, page_size=options["limit"])
        except (FaceAppError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        for hit in result.hits:
            s = hit.sighting
            who = s.person.name if s.person else (f"U-{s.unknown_group_id:06d}" if s.unknown_group_id else "-")
            self.stdout.write(f"{hit.similarity:.3f}  {s.seen_at:%Y-%m-%d %H:%M:%S}  {s.place:<24}  {s.verdict:<11} {who}  {s.id}")
        more = " (more beyond --limit)" if result.has_more else ""
        self.stdout.write(self.style.SUCCESS(f"{len(result.hits)} sightings{more}."))

    @staticmethod
    def _time(value, name):
        if not value:
            return None
        parsed = parse_datetime(value)
        if parsed is None:
            raise CommandError(f"--{name}: not an ISO 8601 time: {value}")
        return parsed
