from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from enrollment import services

from .serializers import RecogniseUserRequest, recognise_user_response
from .uploads import read_upload


@extend_schema(
    summary="Recognise the largest face in a photo",
    description=(
        "Match: `status: success`, `message: Match found`, `user_info`. No match: `status: failure`, "
        "`message: no_match`, and a `req_id` valid until `expiresAt` that `add_user` accepts instead of the photo."
    ),
    request={"multipart/form-data": RecogniseUserRequest},
    responses={200: dict},
)
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
def recognise_user(request):
    form = RecogniseUserRequest(data=request.data)
    form.is_valid(raise_exception=True)
    recognition = services.recognise_user(read_upload(form.validated_data["image"]))
    return Response(recognise_user_response(recognition))
