"""The gallery calls' API shapes: recognise_user (seed API), verify and identify, with the decision that answered."""
from rest_framework import serializers

from recognition.serializers import (
    AttributesField,
    AttributesSerializer,
    Box,
    DetectedFace,
    ImageSize,
    QualitySerializer,
    attributes_json,
    box_json,
    face_json,
)

from .decision import PRESETS
from .models import Watchlist, label_of

PRESET_HELP = ("Decision preset: at most this share of searches by somebody not enrolled returns a name, at the current "
               "gallery size — strict 0.1%, balanced 1% (default FACEAPP_MATCH_PRESET), permissive 5%.")
THRESHOLD_HELP = "A raw cosine threshold instead of the preset (experts; overrides the preset)."


def preset_field():
    return serializers.ChoiceField(choices=list(PRESETS), required=False, help_text=PRESET_HELP)


def threshold_field():
    return serializers.FloatField(required=False, min_value=-1.0, max_value=1.0, help_text=THRESHOLD_HELP)


class NormalisationSerializer(serializers.Serializer):
    k = serializers.IntegerField(help_text="The cohort statistics use each face's top-K people.")
    threshold = serializers.FloatField(help_text="The normalised score a person needs to be named.")
    close_threshold = serializers.FloatField()
    predicted_far = serializers.FloatField(help_text="What the calibration predicts at this threshold.")
    cohort_people = serializers.IntegerField(help_text="People enrolled with this model: the cohort.")


class DecisionPolicySerializer(serializers.Serializer):
    preset = serializers.CharField(allow_null=True, help_text="null when a raw threshold decided.")
    threshold = serializers.FloatField(help_text="The template score a person needs to be named.")
    gallery_size = serializers.IntegerField(help_text="Enrolled faces searched: each is one more chance of a false match.")
    calibrated = serializers.BooleanField()
    calibration = serializers.CharField(help_text="Where the calibration came from.")
    target_far = serializers.FloatField(allow_null=True, help_text="The preset's share of stranger searches that may return a name.")
    predicted_far = serializers.FloatField(allow_null=True, help_text="What the calibration predicts at this threshold and gallery size.")
    close_threshold = serializers.FloatField(help_text="From here up to the threshold the verdict is 'close'.")
    score = serializers.ChoiceField(choices=["cosine", "asnorm"], help_text=(
        "What is decided on: the cosine similarity, or its AS-normalised score (when the model's calibration has one "
        "and enough people are enrolled; then threshold and close_threshold are the cosine fallback and veto)."))
    normalisation = NormalisationSerializer(allow_null=True)


class DecisionSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=["named", "close", "unknown", "low_quality"])
    similarity = serializers.FloatField(allow_null=True, help_text="The best candidate's template score (cosine).")
    score = serializers.FloatField(allow_null=True, help_text="What was compared with the threshold: the similarity, or its normalised score.")
    score_kind = serializers.ChoiceField(choices=["cosine", "asnorm"])
    threshold = serializers.FloatField(allow_null=True, help_text="The threshold the score was compared with.")
    reason = serializers.CharField()


KEEP_SIGHTING_HELP = ("Also keep the face(s) as sightings (vector, crop, time, API key, decision) for searches of the past and "
                      "unknown groups, for FACEAPP_API_SIGHTING_RETENTION_DAYS (docs/unknowns.md).")


def keep_sighting_field():
    return serializers.BooleanField(required=False, default=False, help_text=KEEP_SIGHTING_HELP)


class SightingRef(serializers.Serializer):
    id = serializers.UUIDField()
    unknown_group = serializers.CharField(allow_null=True, help_text="U-000123 when nobody enrolled was named.")


def sighting_ref(sighting) -> dict:
    group = sighting.unknown_group_id
    return {"id": str(sighting.id), "unknown_group": label_of(group) if group else None}


class RecogniseUserRequest(serializers.Serializer):
    image = serializers.FileField(help_text="The photo: JPEG, PNG, WebP or BMP.", allow_empty_file=True)
    preset = preset_field()
    threshold = threshold_field()
    attributes = AttributesField()
    keep_sighting = keep_sighting_field()


class UserInfo(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    birthdate = serializers.DateField(allow_null=True)


def face_metadata(recognition) -> dict:
    """What recognise_user says about the face it used and the photo."""
    face = recognition.face
    return {
        "faces_detected": recognition.faces_detected,
        "face_used": "largest" if recognition.faces_detected > 1 else "only",
        "detection_confidence": round(face.detection.score, 4),
        "quality": face.quality.as_dict(),
        "box": box_json(face),
        "image": {"width": recognition.width, "height": recognition.height},
        "decision": recognition.decision.as_dict(),
        "decision_policy": recognition.policy.as_dict(),
        **attributes_json(face),
        **({"sighting": sighting_ref(recognition.sighting)} if recognition.sighting is not None else {}),
    }


def recognise_user_response(recognition) -> dict:
    metadata = face_metadata(recognition)
    if recognition.match is not None:
        person = recognition.match.person
        return {
            "status": "success",
            "message": "Match found",
            "user_info": UserInfo(person).data,
            "similarity": round(recognition.match.similarity, 4),
            "metadata": metadata,
        }
    pending = recognition.pending
    return {
        "status": "failure",
        "message": "no_match",
        "req_id": pending.req_id,
        "expiresAt": pending.expires_at.isoformat().replace("+00:00", "Z"),
        "metadata": metadata,
    }


# --- verify and identify ----------------------------------------------------------------------


class VerifyRequest(serializers.Serializer):
    image1 = serializers.FileField(allow_empty_file=True, help_text="The first photo.")
    image2 = serializers.FileField(required=False, allow_empty_file=True, help_text="The second photo (or give person_id).")
    person_id = serializers.UUIDField(required=False, help_text="Compare with this enrolled person's faces instead of image2.")
    all_pairs = serializers.BooleanField(required=False, default=False,
                                         help_text="Compare every face of image1 with every face of image2 (or the person), not only the largest.")
    threshold = threshold_field()
    preset = preset_field()
    liveness = serializers.BooleanField(
        required=False, default=False,
        help_text="Also run the passive liveness check on every compared face (needs FACEAPP_LIVENESS_MODEL); a face that "
                  "fails it is never verified. Each face then carries `liveness` (docs/attributes.md (liveness)).")

    def validate(self, data):
        if ("image2" in data) == ("person_id" in data):
            raise serializers.ValidationError({"image2": "Give either image2 or person_id (exactly one)."})
        return data


class PersonRef(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    external_id = serializers.CharField(allow_null=True)


class PairSerializer(serializers.Serializer):
    face1_index = serializers.IntegerField()
    face2_index = serializers.IntegerField(allow_null=True)
    similarity = serializers.FloatField()
    verified = serializers.BooleanField()
    decision = DecisionSerializer()


class VerifyResponse(serializers.Serializer):
    verified = serializers.BooleanField(help_text="Same person: the decision is 'named'.")
    similarity = serializers.FloatField(help_text="Cosine similarity of the compared faces (the best pair with all_pairs); "
                                                  "against a person, their template score over all their faces.")
    threshold = serializers.FloatField()
    preset = serializers.CharField(allow_null=True)
    decision = DecisionSerializer()
    decision_policy = DecisionPolicySerializer()
    face1 = DetectedFace()
    face2 = DetectedFace(allow_null=True)
    person = PersonRef(allow_null=True)
    faces1_detected = serializers.IntegerField()
    faces2_detected = serializers.IntegerField(allow_null=True)
    pairs = PairSerializer(many=True, required=False)


def _person_ref(person) -> dict:
    return {"id": str(person.id), "name": person.name, "email": person.email, "external_id": person.external_id}


def verify_response(result) -> dict:
    best = result.best
    body = {
        "verified": best.verified,
        "similarity": round(best.similarity, 4),
        "threshold": round(result.threshold, 4),
        "preset": result.policy.preset,
        "decision": best.decision.as_dict(),
        "decision_policy": result.policy.as_dict(),
        "face1": face_json(result.analysis1.faces[best.face1_index], best.face1_index),
        "face2": face_json(result.analysis2.faces[best.face2_index], best.face2_index) if result.analysis2 is not None else None,
        "person": _person_ref(result.person) if result.person is not None else None,
        "faces1_detected": result.analysis1.faces_detected,
        "faces2_detected": result.analysis2.faces_detected if result.analysis2 is not None else None,
    }
    if result.pairs:
        body["pairs"] = [
            {"face1_index": p.face1_index, "face2_index": p.face2_index, "similarity": round(p.similarity, 4), "verified": p.verified,
             "decision": p.decision.as_dict()}
            for p in result.pairs
        ]
    return body


class IdentifyRequest(serializers.Serializer):
    image = serializers.FileField(allow_empty_file=True, help_text="The photo: every face in it is identified.")
    limit = serializers.IntegerField(required=False, default=1, min_value=1, max_value=100, help_text="Candidates per face.")
    threshold = serializers.FloatField(required=False, min_value=-1.0, max_value=1.0,
                                       help_text=THRESHOLD_HELP + " -1: the closest people whatever their score.")
    preset = preset_field()
    watchlists = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Watchlist.objects.all(),
                                                    help_text="Only people in these watchlists (ids; repeat the field).")
    max_faces = serializers.IntegerField(required=False, min_value=1, max_value=100, help_text="Identify at most this many faces, largest first.")
    min_face_size = serializers.IntegerField(required=False, min_value=12, max_value=10_000)
    attributes = AttributesField()
    keep_sighting = keep_sighting_field()


class Candidate(serializers.Serializer):
    person = PersonRef()
    similarity = serializers.FloatField(help_text="The person's template score: ½ best face + ½ mean of their best three.")
    score = serializers.FloatField(help_text="What the decision compared: the similarity, or its AS-normalised template score.")
    best_face_similarity = serializers.FloatField()
    face_id = serializers.UUIDField(help_text="The person's enrolled face that matched best.")


class IdentifiedFace(DetectedFace):
    candidates = Candidate(many=True, help_text="The people the decision names (empty unless the verdict is 'named').")
    decision = DecisionSerializer()
    sighting = SightingRef(required=False, help_text="With keep_sighting=true.")


class IdentifyResponse(serializers.Serializer):
    image = ImageSize()
    threshold = serializers.FloatField()
    preset = serializers.CharField(allow_null=True)
    decision_policy = DecisionPolicySerializer()
    faces = IdentifiedFace(many=True)


def identify_response(result) -> dict:
    faces = []
    for i, identified in enumerate(result.faces):
        body = face_json(identified.face, i)
        body["candidates"] = [
            {"person": _person_ref(m.person), "similarity": round(m.similarity, 4),
             "score": round(m.score, 4), "best_face_similarity": round(m.best_face_similarity, 4), "face_id": str(m.face_id)}
            for m in identified.candidates
        ]
        body["decision"] = identified.decision.as_dict()
        if result.sightings:
            body["sighting"] = sighting_ref(result.sightings[i])
        faces.append(body)
    return {"image": {"width": result.analysis.width, "height": result.analysis.height}, "threshold": round(result.threshold, 4),
            "preset": result.policy.preset, "decision_policy": result.policy.as_dict(), "faces": faces}


# --- Documentation of the seed answers (the bodies are built by recognise_user_response) ------


class RecognitionMetadata(serializers.Serializer):
    faces_detected = serializers.IntegerField()
    face_used = serializers.ChoiceField(choices=["only", "largest"])
    detection_confidence = serializers.FloatField()
    quality = QualitySerializer()
    box = Box()
    image = ImageSize()
    decision = DecisionSerializer()
    decision_policy = DecisionPolicySerializer()
    attributes = AttributesSerializer(required=False, help_text="Only with `attributes=`.")
    sighting = SightingRef(required=False, help_text="With keep_sighting=true.")


class RecogniseUserResponse(serializers.Serializer):
    status = serializers.ChoiceField(choices=["success", "failure"])
    message = serializers.ChoiceField(choices=["Match found", "no_match"])
    user_info = UserInfo(required=False, help_text="With a match.")
    similarity = serializers.FloatField(required=False, help_text="With a match.")
    req_id = serializers.CharField(required=False, help_text="Without a match: give it to add_user before expiresAt.")
    expiresAt = serializers.DateTimeField(required=False)
    metadata = RecognitionMetadata()
