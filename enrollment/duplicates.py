"""The duplicate-face check: does this face already belong to somebody enrolled (somebody else)?

One check for every way a face gets into the gallery by hand: enrolling a new person (`add_user`, the
API, the enrol page) and adding faces to a person (`POST /api/v1/people/{id}/faces`, the person's page,
'Who is this?'). It is a decision of its own, `decision.duplicate_policy` (always at the duplicate preset,
`strict` by default), never a raw cosine. When adding to a person, their own faces are not compared:
the question is whether the face is *somebody else's*.

An operator may still add such a face, but only as an explicit *reviewed exception* (with a reason),
which is written to the audit log with the other person it resembles.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db import connection

from recognition.exceptions import DuplicateFace

from . import decision, gallery
from .models import Face, Person

# One lock id for "check for a duplicate face, then insert": two enrolments of the same new face must not
# both pass the check. Held to the end of the transaction that inserts.
ENROL_LOCK_ID = 0x6661636501


@dataclass(frozen=True)
class Duplicate:
    """The enrolled person a face already belongs to, by the duplicate policy."""

    person: Person
    face_id: object
    similarity: float
    threshold: float  # what `score` was compared with
    preset: str | None
    gallery_size: int
    score: float | None = None  # the score decided on: the similarity, or its AS-normalised score
    score_kind: str = "cosine"

    @property
    def message(self) -> str:
        compared = (f"similarity {self.similarity:.2f}" if self.score_kind == "cosine" else
                    f"normalised score {self.score:.2f} (similarity {self.similarity:.2f})")
        return (f"This face is already enrolled as {self.person.name} ({self.person.id}; {compared}, the "
                f"{self.preset or 'raw'} duplicate threshold at {self.gallery_size} faces is {self.threshold:.2f}).")

    def error(self, prefix: str = "") -> DuplicateFace:
        """The 409 refusal, naming the person (also in `existing_user_id` and `existing_user_name`)."""
        return DuplicateFace(
            prefix + self.message,
            existing_user_id=str(self.person.id),
            existing_user_name=self.person.name,
            similarity=round(self.similarity, 4),
            threshold=round(self.threshold, 4),
        )

    def audit(self, reason: str) -> dict:
        """What the audit entry of a face added anyway records."""
        return {
            "reviewed_exception": reason,
            "resembles_person_id": str(self.person.id),
            "resembles_person_name": self.person.name,
            "similarity": round(self.similarity, 4),
            "duplicate_threshold": round(self.threshold, 4),
        }


def lock() -> None:
    """Serialise check-then-insert with every other enrolment, until the current transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ENROL_LOCK_ID])


def find(vector: np.ndarray, *, embedding_model: str, exclude_person=None) -> Duplicate | None:
    """The person (other than `exclude_person`) this face already belongs to, or None."""
    others = Face.objects.exclude(person_id=exclude_person.id) if exclude_person is not None else None
    if others is None:
        size = gallery.gallery_size(embedding_model=embedding_model)
    else:
        size = gallery.gallery_size(embedding_model=embedding_model, faces=others)
    if size == 0:
        return None
    policy = decision.duplicate_policy(embedding_model=embedding_model, gallery_size=size)
    normalise_k = policy.normalisation.k if policy.normalisation else None
    match = gallery.best_match(vector, embedding_model=embedding_model, faces=others, normalise_k=normalise_k)
    if match is None:
        return None
    # Not judged on quality: a poor photo of somebody enrolled is still theirs.
    verdict = decision.decide(match.similarity, policy, normalised_score=match.normalised_score)
    if not verdict.named:
        return None
    return Duplicate(person=match.person, face_id=match.face_id, similarity=match.similarity, threshold=verdict.threshold,
                     preset=policy.preset, gallery_size=size, score=verdict.score, score_kind=verdict.score_kind)
