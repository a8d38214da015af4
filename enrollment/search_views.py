"""The gallery calls: recognise_user (seed API), verify (1:1) and identify (1:N). URLs are in faceapp/urls.py."""
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from faceapp.apikeys.permissions import ReadScope, seed_permission
from faceapp.audit.log import Actor
from faceapp.schema import errors
from recognition.uploads import read_upload

from . import identification, people, services
from .search_serializers import (
    IdentifyRequest,
    IdentifyResponse,
    RecogniseUserRequest,
    RecogniseUserResponse,
    VerifyRequest,
    VerifyResponse,
    identify_response,
    recognise_user_response,
    verify_response,
)


@extend_schema(
    summary="Recognise the largest face in a photo",
    description=(
        "Match: `status: success`, `message: Match found`, `user_info`. No match: `status: failure`, "
        "`message: no_match`, and a `req_id` valid until `expiresAt` that `add_user` accepts instead of the photo. "
        "Open without a key while FACEAPP_SEED_API_OPEN is on (the default); otherwise needs the `read` scope."
    ),
    request={"multipart/form-data": RecogniseUserRequest},
    responses={200: RecogniseUserResponse, **errors(400, 413, 415)},
    tags=["seed"],
)
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
@permission_classes([seed_permission("read")])
def recognise_user(request):
    data = _validated(RecogniseUserRequest, request.data)
    recognition_ = services.recognise_user(read_upload(data["image"]), preset=data.get("preset"), threshold=data.get("threshold"),
                                           actor=Actor.from_request(request), attributes=data.get("attributes", ()),
                                           keep_sighting=data["keep_sighting"])
    response = Response(recognise_user_response(recognition_))
    response["Server-Timing"] = server_timing(recognition_.timings_ms)
    return response


def server_timing(timings_ms: dict) -> str:
    """The stages' durations as a Server-Timing header (browsers' dev tools and bench/latency.py read it)."""
    return ", ".join(f"{stage};dur={ms:.1f}" for stage, ms in timings_ms.items())


def _validated(serializer_class, data):
    form = serializer_class(data=data)
    form.is_valid(raise_exception=True)
    return form.validated_data


@extend_schema(
    summary="Verify: are two faces the same person?",
    description="The largest face of `image1` against the largest of `image2`, or against the enrolled faces of `person_id` "
                "(scored on all of them); `all_pairs=true` compares every face pair and lists them. 400 / 601 when a photo "
                "has no face. Needs the `read` scope.",
    request={"multipart/form-data": VerifyRequest},
    responses={200: VerifyResponse, **errors(400, 404, 413, 415)},
    tags=["recognition"],
)
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
@permission_classes([ReadScope])
def verify(request):
    data = _validated(VerifyRequest, request.data)
    person = people.get_person(data["person_id"]) if "person_id" in data else None
    result = identification.verify(
        read_upload(data["image1"]),
        image2=read_upload(data["image2"]) if "image2" in data else None,
        person=person,
        all_pairs=data["all_pairs"],
        threshold=data.get("threshold"),
        preset=data.get("preset"),
        actor=Actor.from_request(request),
        liveness=data["liveness"],
    )
    return Response(verify_response(result))


@extend_schema(
    summary="Identify every face: the top candidates among enrolled people",
    description="For each face (largest first), the decision (named / close / unknown / low_quality) and up to `limit` named "
                "people, best first, optionally only among the people of `watchlists`. The `preset` (default balanced) fixes "
                "the share of stranger searches that may return a name; the threshold that gives it at the current gallery "
                "size is in `decision_policy`. Needs the `read` scope; audited.",
    request={"multipart/form-data": IdentifyRequest},
    responses={200: IdentifyResponse, **errors(400, 413, 415)},
    tags=["recognition"],
)
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
@permission_classes([ReadScope])
def identify(request):
    data = _validated(IdentifyRequest, request.data)
    result = identification.identify(
        read_upload(data["image"]),
        limit=data["limit"],
        threshold=data.get("threshold"),
        preset=data.get("preset"),
        watchlists=data.get("watchlists", []),
        max_faces=data.get("max_faces"),
        min_face_size=data.get("min_face_size"),
        actor=Actor.from_request(request),
        attributes=data.get("attributes", ()),
        keep_sighting=data["keep_sighting"],
    )
    return Response(identify_response(result))
