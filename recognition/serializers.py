from rest_framework import serializers

from enrollment.models import Watchlist


class RecogniseUserRequest(serializers.Serializer):
    image = serializers.FileField(help_text="The photo: JPEG, PNG, WebP or BMP.", allow_empty_file=True)


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
        "box": _box(face),
        "image": {"width": recognition.width, "height": recognition.height},
    }


def _box(face) -> dict:
    x1, y1, x2, y2 = face.detection.box
    return {"x": int(round(x1)), "y": int(round(y1)), "width": int(round(x2 - x1)), "height": int(round(y2 - y1))}


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


# --- The integrator API: detect, verify, identify ----------------------------------------------

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


class Box(serializers.Serializer):
    x = serializers.IntegerField()
    y = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class Point(serializers.Serializer):
    x = serializers.FloatField()
    y = serializers.FloatField()


class Landmarks(serializers.Serializer):
    left_eye = Point()
    right_eye = Point()
    nose = Point()
    mouth_left = Point()
    mouth_right = Point()


class QualitySerializer(serializers.Serializer):
    detection_score = serializers.FloatField()
    face_size = serializers.IntegerField(help_text="Shorter side of the face box, in pixels.")
    sharpness = serializers.FloatField(help_text="Variance of the Laplacian of the crop; higher is sharper.")
    yaw = serializers.FloatField(help_text="Degrees; 0 is frontal.")
    pitch = serializers.FloatField()
    roll = serializers.FloatField()


class DetectedFace(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the list, largest face first (what face_index refers to).")
    box = Box()
    landmarks = Landmarks()
    detection_score = serializers.FloatField()
    quality = QualitySerializer()
    embedding = serializers.ListField(child=serializers.FloatField(), required=False,
                                      help_text="The 512-d L2-normalised FaceNet embedding (only with embedding=true).")


class ImageSize(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()


def face_json(face, index: int, *, embedding: bool = False) -> dict:
    body = {
        "index": index,
        "box": _box(face),
        "landmarks": {name: {"x": round(float(x), 1), "y": round(float(y), 1)} for name, (x, y) in zip(LANDMARK_NAMES, face.detection.landmarks)},
        "detection_score": round(float(face.detection.score), 4),
        "quality": face.quality.as_dict(),
    }
    if embedding:
        body["embedding"] = [float(v) for v in face.embedding]
    return body


class DetectRequest(serializers.Serializer):
    image = serializers.FileField(allow_empty_file=True, help_text="The photo: JPEG, PNG, WebP or BMP.")
    min_face_size = serializers.IntegerField(required=False, min_value=12, max_value=10_000,
                                             help_text="Smallest face to find, in pixels (default FACEAPP_MIN_FACE_SIZE).")
    detection_threshold = serializers.FloatField(required=False, min_value=0.0, max_value=1.0,
                                                 help_text="Minimum detection score (default FACEAPP_DETECTION_THRESHOLD).")
    max_faces = serializers.IntegerField(required=False, min_value=1, max_value=1000, help_text="Return at most this many faces, largest first.")
    embedding = serializers.BooleanField(required=False, default=False, help_text="Also return each face's 512-d embedding.")


class DetectResponse(serializers.Serializer):
    image = ImageSize()
    faces = DetectedFace(many=True)
    timings_ms = serializers.DictField(child=serializers.FloatField())


def detect_response(analysis, *, embedding: bool) -> dict:
    return {
        "image": {"width": analysis.width, "height": analysis.height},
        "faces": [face_json(face, i, embedding=embedding) for i, face in enumerate(analysis.faces)],
        "timings_ms": {k: round(v, 1) for k, v in analysis.timings_ms.items()},
    }


class VerifyRequest(serializers.Serializer):
    image1 = serializers.FileField(allow_empty_file=True, help_text="The first photo.")
    image2 = serializers.FileField(required=False, allow_empty_file=True, help_text="The second photo (or give person_id).")
    person_id = serializers.UUIDField(required=False, help_text="Compare with this enrolled person's faces instead of image2.")
    all_pairs = serializers.BooleanField(required=False, default=False,
                                         help_text="Compare every face of image1 with every face of image2 (or the person), not only the largest.")
    threshold = serializers.FloatField(required=False, min_value=-1.0, max_value=1.0,
                                       help_text="Cosine similarity for 'same person' (default FACEAPP_MATCH_THRESHOLD).")

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


class VerifyResponse(serializers.Serializer):
    verified = serializers.BooleanField(help_text="Same person: similarity ≥ threshold.")
    similarity = serializers.FloatField(help_text="Cosine similarity of the compared faces (the best pair with all_pairs).")
    threshold = serializers.FloatField()
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
        "threshold": result.threshold,
        "face1": face_json(result.analysis1.faces[best.face1_index], best.face1_index),
        "face2": face_json(result.analysis2.faces[best.face2_index], best.face2_index) if result.analysis2 is not None else None,
        "person": _person_ref(result.person) if result.person is not None else None,
        "faces1_detected": result.analysis1.faces_detected,
        "faces2_detected": result.analysis2.faces_detected if result.analysis2 is not None else None,
    }
    if result.pairs:
        body["pairs"] = [
            {"face1_index": p.face1_index, "face2_index": p.face2_index, "similarity": round(p.similarity, 4), "verified": p.verified}
            for p in result.pairs
        ]
    return body


class IdentifyRequest(serializers.Serializer):
    image = serializers.FileField(allow_empty_file=True, help_text="The photo: every face in it is identified.")
    limit = serializers.IntegerField(required=False, default=1, min_value=1, max_value=100, help_text="Candidates per face.")
    threshold = serializers.FloatField(required=False, min_value=-1.0, max_value=1.0,
                                       help_text="Minimum similarity (default FACEAPP_MATCH_THRESHOLD); 0 or below: the closest whatever the score.")
    watchlists = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Watchlist.objects.all(),
                                                    help_text="Only people in these watchlists (ids; repeat the field).")
    max_faces = serializers.IntegerField(required=False, min_value=1, max_value=100, help_text="Identify at most this many faces, largest first.")
    min_face_size = serializers.IntegerField(required=False, min_value=12, max_value=10_000)


class Candidate(serializers.Serializer):
    person = PersonRef()
    similarity = serializers.FloatField()
    face_id = serializers.UUIDField(help_text="The person's enrolled face that matched best.")


class IdentifiedFace(DetectedFace):
    candidates = Candidate(many=True)


class IdentifyResponse(serializers.Serializer):
    image = ImageSize()
    threshold = serializers.FloatField()
    faces = IdentifiedFace(many=True)


def identify_response(result) -> dict:
    faces = []
    for i, identified in enumerate(result.faces):
        body = face_json(identified.face, i)
        body["candidates"] = [
            {"person": _person_ref(m.person), "similarity": round(m.similarity, 4), "face_id": str(m.face_id)} for m in identified.candidates
        ]
        faces.append(body)
    return {"image": {"width": result.analysis.width, "height": result.analysis.height}, "threshold": result.threshold, "faces": faces}


# --- Documentation of the seed answers (the bodies are built by recognise_user_response) ------


class RecognitionMetadata(serializers.Serializer):
    faces_detected = serializers.IntegerField()
    face_used = serializers.ChoiceField(choices=["only", "largest"])
    detection_confidence = serializers.FloatField()
    quality = QualitySerializer()
    box = Box()
    image = ImageSize()


class RecogniseUserResponse(serializers.Serializer):
    status = serializers.ChoiceField(choices=["success", "failure"])
    message = serializers.ChoiceField(choices=["Match found", "no_match"])
    user_info = UserInfo(required=False, help_text="With a match.")
    similarity = serializers.FloatField(required=False, help_text="With a match.")
    req_id = serializers.CharField(required=False, help_text="Without a match: give it to add_user before expiresAt.")
    expiresAt = serializers.DateTimeField(required=False)
    metadata = RecognitionMetadata()
