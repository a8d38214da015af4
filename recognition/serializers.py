from rest_framework import serializers


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
