"""Whose face each imported photo is: finds or creates the person of an import entry (external id, then email,
then name among imported people), keeping what it found in step with the import's transactions (a photo's
savepoint, the batch's transaction). Used by enrollment.importing only."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import services
from .import_sources import Entry
from .models import Person, Watchlist

if TYPE_CHECKING:
    from .importing import ImportOptions


class ImportPeople:
    """Finds or creates the person of each entry: external id, then email, then name (among imported people)."""

    def __init__(self, options: ImportOptions):
        self.options = options
        self.cache: dict[tuple, Person] = {}  # committed
        self.batch_cache: dict[tuple, Person] = {}  # in the open batch transaction
        self.uncommitted: dict[tuple, Person] = {}  # in the open photo savepoint
        self.created = 0
        self.batch_created = 0
        self.uncommitted_created = 0
        self.watchlists: dict[str, Watchlist] = {}
        self.dry_run_keys: set[tuple] = set()

    @staticmethod
    def _keys(entry: Entry) -> list[tuple]:
        keys = []
        if entry.external_id:
            keys.append(("external_id", entry.external_id))
        email = services.normalise_email(entry.email)
        if email:
            keys.append(("email", email))
        keys.append(("name", entry.name.casefold()))
        return keys

    def _cached(self, key):
        return self.uncommitted.get(key) or self.batch_cache.get(key) or self.cache.get(key)

    def _lookup(self, key) -> Person | None:
        kind, value = key
        if kind == "external_id":
            return Person.objects.filter(external_id=value).first()
        if kind == "email":
            return Person.objects.filter(email=value).first()
        return Person.objects.filter(name__iexact=value, metadata__has_key="imported_from").order_by("created_at").first()

    @staticmethod
    def _compatible(person: Person | None, entry: Entry) -> bool:
        """A person found by a weaker key must not contradict a stronger one the entry gives."""
        if person is None:
            return False
        email = services.normalise_email(entry.email)
        return (not entry.external_id or person.external_id in (None, entry.external_id)) and (
            not email or person.email in (None, email)
        )

    def resolve(self, entry: Entry, *, dry_run: bool = False) -> Person | None:
        keys = self._keys(entry)
        if dry_run:
            known = any(k in self.dry_run_keys for k in keys) or any(self._compatible(self._lookup(k), entry) for k in keys)
            self.created += not known
            self.dry_run_keys.update(keys)
            return None
        person = next((p for p in (self._cached(k) or self._lookup(k) for k in keys) if self._compatible(p, entry)), None)
        if person is None:
            person = services.create_person(
                name=entry.name,
                birthdate=entry.birthdate,
                email=entry.email,
                external_id=entry.external_id,
                metadata={"imported_from": self.options.source_label or "import_faces"},
            )
            self.uncommitted_created += 1
        for key in keys:
            self.uncommitted[key] = person
        return person

    def add_to_watchlists(self, person: Person, entry: Entry) -> None:
        names = ([self.options.watchlist] if self.options.watchlist else []) + list(entry.watchlists)
        lists = []
        for name in names:
            if name not in self.watchlists:
                self.watchlists[name], _ = Watchlist.objects.get_or_create(name=name)
            lists.append(self.watchlists[name])
        if lists:
            person.watchlists.add(*lists)

    def keep_uncommitted(self) -> None:
        self.batch_cache.update(self.uncommitted)
        self.batch_created += self.uncommitted_created
        self.uncommitted.clear()
        self.uncommitted_created = 0

    def forget_uncommitted(self) -> None:
        self.uncommitted.clear()
        self.uncommitted_created = 0
        # A watchlist created in a rolled-back savepoint is gone: look them up again.
        self.watchlists.clear()

    def commit_batch(self) -> None:
        self.cache.update(self.batch_cache)
        self.created += self.batch_created
        self.forget_batch()

    def forget_batch(self) -> None:
        self.forget_uncommitted()
        self.batch_cache.clear()
        self.batch_created = 0