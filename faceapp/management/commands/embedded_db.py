from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from faceapp import embedded_db


class Command(BaseCommand):
    help = (
        "Start, stop or show the embedded PostgreSQL (used when DATABASE_URL is unset; data in var/pgdata). "
        "It is started on demand by any command that needs the database, and keeps running until stopped here."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "url"], help="start it, stop it, or print its connection URL")

    def handle(self, *args, action, **options):
        pgdata = settings.DATABASES["default"].get("EMBEDDED_PGDATA")
        if not pgdata:
            raise CommandError("DATABASE_URL is set, so the embedded database is not in use.")
        pgdata = Path(pgdata)
        if action == "stop":
            stopped = embedded_db.stop(pgdata)
            self.stdout.write("Stopped." if stopped else "It was not running.")
        else:
            url = embedded_db.database_url(pgdata)
            self.stdout.write(url if action == "url" else f"Running: {url}")
