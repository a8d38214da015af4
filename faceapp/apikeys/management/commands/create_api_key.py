from django.core.management.base import BaseCommand, CommandError

from faceapp.apikeys.models import SCOPES, ApiKey


class Command(BaseCommand):
    help = (
        "Create an API key and print it once (only its hash is stored). "
        "Send it as 'X-API-Key: <key>' or 'Authorization: Token <key>'."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who or what will use the key, e.g. 'door-controller'.")
        parser.add_argument(
            "--scope", choices=SCOPES, default="read",
            help="read: look up, detect, verify, identify; enroll: also create, change and delete people and faces; "
                 "admin: also manage watchlists. Default: read.",
        )
        parser.add_argument("--rate", default="", help="This key's throttle rate, e.g. '100/min' (default: FACEAPP_THROTTLE_RATE).")
        parser.add_argument("--expires-in-days", type=int, default=None,
                            help="The key stops working after this many days (default: never).")

    def handle(self, *args, name, scope, rate, expires_in_days=None, **options):
        if not name.strip():
            raise CommandError("the name must not be empty")
        if rate:
            from faceapp.apikeys.throttles import ApiKeyRateThrottle

            try:
                ApiKeyRateThrottle().parse_rate(rate)
            except (ValueError, KeyError, IndexError):
                raise CommandError(f"bad --rate {rate!r}; use e.g. 100/min") from None
        expires_at = None
        if expires_in_days is not None:
            if expires_in_days < 1:
                raise CommandError("--expires-in-days must be 1 or more")
            import datetime as dt

            from django.utils import timezone

            expires_at = timezone.now() + dt.timedelta(days=expires_in_days)
        key, raw = ApiKey.issue(name=name.strip(), scope=scope, rate_limit=rate, expires_at=expires_at)
        until = f", expires {key.expires_at:%Y-%m-%d %H:%M} UTC" if key.expires_at else ""
        self.stderr.write(f"Created API key '{key.name}' (prefix {key.prefix}, scope {key.scope}{until}). It is shown only once:")
        self.stdout.write(raw)
