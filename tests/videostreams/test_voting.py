"""Track voting: a track is named from several of its best shots, and changes its name only with evidence."""
import pytest

from enrollment.decision import Decision
from videostreams import voting
from videostreams.voting import Vote


def clearance(score, threshold=0.7):
    return Decision("named", score, "", score, "cosine", threshold).clearance


def vote(person, score=0.8, size=100, threshold=0.7):
    named = person is not None
    return Vote(person, score, size, voting.vote_weight(clearance=clearance(score, threshold) if named else 0.0, face_size=size,
                                                        named=named))


def test_one_shot_is_not_enough_with_two_votes_required():
    assert voting.tally([vote("anna")], min_votes=2).person_id is None
    assert voting.tally([vote("anna"), vote("anna")], min_votes=2).person_id == "anna"


def test_the_majority_of_the_weight_decides_and_odd_frames_do_not():
    votes = [vote("anna"), vote("anna"), vote("anna"), vote("bob", score=0.71)]
    outcome = voting.tally(votes, min_votes=2)
    assert outcome.person_id == "anna" and outcome.agreeing == 3 and outcome.support > 0.5


def test_shots_that_name_nobody_outweigh_a_lone_weak_name():
    votes = [vote("anna", score=0.71, size=40), vote("anna", score=0.71, size=40), vote(None, None, 150), vote(None, None, 150), vote(None, None, 150)]
    assert voting.tally(votes, min_votes=2).person_id is None


def test_bigger_faces_and_clearer_scores_weigh_more():
    assert voting.vote_weight(clearance=clearance(0.9), face_size=100, named=True) > voting.vote_weight(clearance=clearance(0.72), face_size=100, named=True)
    assert voting.vote_weight(clearance=clearance(0.8), face_size=150, named=True) > voting.vote_weight(clearance=clearance(0.8), face_size=50, named=True)


def test_clearance_is_comparable_across_score_kinds():
    cosine = Decision("named", 0.8, "", 0.8, "cosine", 0.7).clearance
    normalised = Decision("named", 0.8, "", 7.0, "asnorm", 5.5).clearance
    assert cosine == pytest.approx(0.5) and normalised == pytest.approx(0.5)
    assert Decision("close", 0.6, "", 0.6, "cosine", 0.7).clearance == 0.0


def test_a_named_track_keeps_its_name_until_another_person_overtakes_it():
    two_each = [vote("anna"), vote("anna"), vote("bob"), vote("bob")]
    assert voting.tally(two_each, min_votes=2, current="anna").person_id == "anna"
    assert voting.tally(two_each, min_votes=2, current="bob").person_id == "bob"
    overtaken = [vote("anna"), vote("bob"), vote("bob"), vote("bob")]
    assert voting.tally(overtaken, min_votes=2, current="anna").person_id == "bob"


def test_the_outcome_is_recorded_as_json():
    data = voting.tally([vote("anna"), vote("anna")], min_votes=2).as_json()
    assert data["winner"] == "anna" and len(data["votes"]) == 2 and {"person", "score", "face_size", "weight"} <= set(data["votes"][0])


def test_votes_for_a_person_marked_not_this_person_count_for_nobody():
    votes = [vote("anna"), vote("anna"), vote("bob")]
    corrected = voting.without(votes, {"anna"})
    assert [v.person_id for v in corrected] == [None, None, "bob"]
    assert corrected[0].weight == voting.vote_weight(clearance=0.0, face_size=100, named=False)
    assert voting.tally(corrected, min_votes=2, current="anna").person_id != "anna"
