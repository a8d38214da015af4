"""The engine's own endpoint: detect (faces, quality and, on request, embeddings). The gallery calls live in enrollment."""
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from faceapp.apikeys.permissions import ReadScope
from faceapp.schema import errors

from . import services as recognition
from .serializers import DetectRequest, DetectResponse, detect_response
from .uploads import read_upload


def _validated(serializer_class, data):
    form = serializer_class(data=data)
    form.is_valid(raise_exception=True)
    return form.validated_data


@extend_schema(
    summary="Detect every face: box, 5 landmarks, score, quality, and optionally the embedding",
    description="Faces are listed largest first; an image without a face gives an empty list. `embedding=true` adds each "
                "face's 512-d FaceNet vector (as CompreFace's calculator plugin); `attributes=gender,age,emotion` adds the estimated "
                "attributes (docs/attributes.md). Needs the `read` scope.",
    request={"multipart/form-data": DetectRequest},
    responses={200: DetectResponse, **errors(400, 413, 415)},
    tags=["recognition"],
)
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
@permission_classes([ReadScope])
def detect(request):
    data = _validated(DetectRequest, request.data)
    analysis = recognition.detect(
        read_upload(data["image"]),
        min_face_size=data.get("min_face_size"),
        detection_threshold=data.get("detection_threshold"),
        max_faces=data.get("max_faces"),
        embedding=data["embedding"],
        attributes=data.get("attributes", ()),
    )
    return Response(detect_response(analysis, embedding=data["embedding"]))
