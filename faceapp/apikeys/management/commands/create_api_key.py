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

    def handle(self, *args, name, scope, rate, **options):
        if not name.strip():
            raise CommandError("the name must not be empty")
        if rate:
            from faceapp.apikeys.throttles import ApiKeyRateThrottle

            try:
                ApiKeyRateThrottle().parse_rate(rate)
            except (ValueError, KeyError, IndexError):
                raise CommandError(f"bad --rate {rate!r}; use e.g. 100/min") from None
        key, raw = ApiKey.issue(name=name.strip(), scope=scope, rate_limit=rate)
        self.stderr.write(f"Created API key '{key.name}' (prefix {key.prefix}, scope {key.scope}). It is shown only once:")
        self.stdout.write(raw)
