from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from recognition.uploads import read_upload

from . import services
from .serializers import AddUserRequest


@extend_schema(
    summary="Enrol a person from a req_id (recognise_user's no_match) or a photo",
    request={"application/json": AddUserRequest, "multipart/form-data": AddUserRequest},
    responses={201: dict},
)
@api_view(["POST"])
@parser_classes([JSONParser, MultiPartParser, FormParser])
def add_user(request):
    form = AddUserRequest(data=request.data)
    form.is_valid(raise_exception=True)
    data = form.validated_data
    upload = data.get("image")
    person = services.enrol_person(
        name=data["name"],
        birthdate=data["birthdate"],
        email=data.get("email"),
        external_id=data.get("external_id"),
        req_id=data.get("req_id") or None,
        image=read_upload(upload) if upload is not None else None,
        image_name=getattr(upload, "name", "") or "",
        allow_duplicates=data.get("allow_duplicates"),
    )
    return Response({"status": "success", "message": "User added successfully", "user_id": str(person.id)}, status=201)
