"""Track voting: a camera track is named from several of its best shots, not from one.

Each of the track's best shots (by quality) is searched and decided like a photo (enrollment's
decision: the camera's preset at the gallery's size). A shot that names somebody votes for them with a
weight that grows with the face's size and with how far its score clears the threshold; shots that name
nobody vote for "unknown". The track is named when one person has at least `min_votes` agreeing shots
and more than half of the total weight; an already named track changes its name only when another
person's weight overtakes it (evidence, not one odd frame). Frigate's `weighted_average` with
`min_faces` is the model. Pure: the searches are done by the caller and passed in.
"""
from __future__ import annotations

from dataclasses import dataclass

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Vote:
    person_id: str | None  # None: the shot names nobody
    score: float | None
    face_size: int
    weight: float


@dataclass(frozen=True)
class Outcome:
    person_id: str | None  # the track's name, None when unknown
    votes: list[Vote]
    support: float  # the winner's share of the total weight
    agreeing: int  # shots that named the winner

    def as_json(self) -> dict:
        return {
            "winner": self.person_id, "support": round(self.support, 3), "agreeing": self.agreeing,
            "votes": [{"person": v.person_id, "score": None if v.score is None else round(v.score, 4),
                       "face_size": v.face_size, "weight": round(v.weight, 3)} for v in self.votes],
        }


def vote_weight(*, clearance: float, face_size: int, named: bool) -> float:
    """Bigger faces and clearer scores count more; an unnamed shot counts by its size alone.

    `clearance` is the decision's (0 at the threshold, 1 clearly above it, whatever the score's kind).
    """
    size = min(max(face_size, 1), 160) / 160.0
    if not named:
        return 0.5 * size
    return size * (1.0 + 2.0 * min(max(clearance, 0.0), 1.0))


def without(votes: list[Vote], excluded: set[str]) -> list[Vote]:
    """The votes with those for people an operator said the track is not turned into votes for nobody (by size)."""
    return [Vote(None, v.score, v.face_size, vote_weight(clearance=0.0, face_size=v.face_size, named=False))
            if v.person_id in excluded else v for v in votes]


def tally(votes: list[Vote], *, min_votes: int, current: str | None = None) -> Outcome:
    """The track's name from its votes; `current` is the name it already has (kept unless overtaken)."""
    total = sum(v.weight for v in votes) or 1.0
    weights: dict[str, float] = {}
    counts: dict[str, int] = {}
    for vote in votes:
        if vote.person_id is not None:
            weights[vote.person_id] = weights.get(vote.person_id, 0.0) + vote.weight
            counts[vote.person_id] = counts.get(vote.person_id, 0) + 1
    if not weights:
        return Outcome(None, votes, 0.0, 0)
    leader = max(weights, key=weights.get)
    if current is not None and current in weights and current != leader and weights[leader] <= weights[current]:
        leader = current
    qualifies = counts[leader] >= min_votes and weights[leader] / total > 0.5
    if not qualifies:
        # A named track keeps its name while nobody else qualifies: one poor stretch of frames does not erase it.
        if current is not None and current in weights:
            return Outcome(current, votes, weights[current] / total, counts[current])
        return Outcome(None, votes, weights[leader] / total, counts[leader])
    return Outcome(leader, votes, weights[leader] / total, counts[leader])
