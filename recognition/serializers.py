"""The engine's API shapes: a detected face (box, landmarks, quality, embedding) and the detect call."""
from rest_framework import serializers

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


def box_json(face) -> dict:
    x1, y1, x2, y2 = face.detection.box
    return {"x": int(round(x1)), "y": int(round(y1)), "width": int(round(x2 - x1)), "height": int(round(y2 - y1))}


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


class AttributesField(serializers.CharField):
    """`attributes=gender,age,emotion` (or `all`: every attribute this server has a model for) → a tuple of kinds."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("help_text", "Comma-separated face attributes to estimate: gender, age, emotion, or all "
                                       "(those this server has models for). Off when absent.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        from .attributes import parse_kinds

        if isinstance(data, (list, tuple)):
            data = ",".join(str(v) for v in data)
        try:
            return parse_kinds(super().to_internal_value(data))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class AttributesSerializer(serializers.Serializer):
    gender = serializers.ChoiceField(choices=["female", "male"], required=False)
    gender_score = serializers.FloatField(required=False, help_text="The model's confidence in `gender` (0.5–1).")
    age = serializers.FloatField(required=False, help_text="Estimated age in years.")
    emotion = serializers.CharField(required=False, help_text="The likeliest of angry, disgust, fear, happy, sad, surprise, neutral.")
    emotion_score = serializers.FloatField(required=False)
    emotions = serializers.DictField(child=serializers.FloatField(), required=False, help_text="Every emotion's probability.")
    models = serializers.DictField(child=serializers.CharField(), required=False, help_text="The model behind each attribute.")


class LivenessSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="The model's probability that the face is live (0–1).")
    threshold = serializers.FloatField(help_text="FACEAPP_LIVENESS_THRESHOLD: live when score ≥ threshold.")
    live = serializers.BooleanField()
    model = serializers.CharField()


def attributes_json(face) -> dict:
    """The face's estimated attributes and liveness, when they were asked for."""
    body = {}
    if face.attributes is not None:
        body["attributes"] = face.attributes.as_dict()
    if face.liveness is not None:
        body["liveness"] = face.liveness.as_dict()
    return body


class DetectedFace(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the list, largest face first (what face_index refers to).")
    box = Box()
    landmarks = Landmarks()
    detection_score = serializers.FloatField()
    quality = QualitySerializer()
    embedding = serializers.ListField(child=serializers.FloatField(), required=False,
                                      help_text="The 512-d L2-normalised FaceNet embedding (only with embedding=true).")
    attributes = AttributesSerializer(required=False, help_text="Only with `attributes=`.")
    liveness = LivenessSerializer(required=False, help_text="Only with `liveness=true` (verify).")


class ImageSize(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()


def face_json(face, index: int, *, embedding: bool = False) -> dict:
    body = {
        "index": index,
        "box": box_json(face),
        "landmarks": {name: {"x": round(float(x), 1), "y": round(float(y), 1)} for name, (x, y) in zip(LANDMARK_NAMES, face.detection.landmarks)},
        "detection_score": round(float(face.detection.score), 4),
        "quality": face.quality.as_dict(),
    }
    if embedding:
        body["embedding"] = [float(v) for v in face.embedding]
    body.update(attributes_json(face))
    return body


class DetectRequest(serializers.Serializer):
    image = serializers.FileField(allow_empty_file=True, help_text="The photo: JPEG, PNG, WebP or BMP.")
    min_face_size = serializers.IntegerField(required=False, min_value=12, max_value=10_000,
                                             help_text="Smallest face to find, in pixels (default FACEAPP_MIN_FACE_SIZE).")
    detection_threshold = serializers.FloatField(required=False, min_value=0.0, max_value=1.0,
                                                 help_text="Minimum detection score (default FACEAPP_DETECTION_THRESHOLD).")
    max_faces = serializers.IntegerField(required=False, min_value=1, max_value=1000, help_text="Return at most this many faces, largest first.")
    embedding = serializers.BooleanField(required=False, default=False, help_text="Also return each face's 512-d embedding.")
    attributes = AttributesField()


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
