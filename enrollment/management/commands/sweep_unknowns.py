from django.core.management.base import BaseCommand

from enrollment import sweep


class Command(BaseCommand):
    help = (
        "Re-cluster the unknown sightings now (the hourly django-q2 schedule does it too): groups that arrived apart "
        "merge, groups that drifted together split, ids stay stable (each new group keeps the id of the old group it "
        "overlaps most), and operators' corrections are kept. Prints what changed."
    )

    def handle(self, *args, **options):
        result = sweep.sweep()
        self.stdout.write(self.style.SUCCESS(
            f"{result.sightings} unknown sightings: {result.groups_before} groups before, {result.groups_after} after "
            f"({result.ids_kept} ids kept, {result.groups_created} new, {result.groups_removed} removed); "
            f"{result.sightings_moved} sightings moved in {result.seconds:.2f} s; clustered in {result.blocks} blocks "
            f"(largest {result.largest_block})."))
        if result.sightings_left:
            self.stdout.write(self.style.WARNING(
                f"{result.sightings_left} older sightings of blocks above {sweep.SWEEP_MAX_BLOCK} were left in their groups."))
