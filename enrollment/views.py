from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes, permission_classes, renderer_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from faceapp.apikeys.permissions import ReadOrAdminScope, seed_permission
from faceapp.audit.log import Actor
from faceapp.parsers import JSONParser
from faceapp.pagination import Pages
from faceapp.schema import errors
from recognition.uploads import read_upload

from . import people, services
from .serializers import (
    AddUserRequest,
    AddUserResponse,
    Deleted,
    FaceSerializer,
    FacesAdd,
    FacesAdded,
    NotAddedSerializer,
    PeopleQuery,
    PersonCreate,
    PersonSerializer,
    PersonWrite,
    WatchlistQuery,
    WatchlistSerializer,
    WatchlistWrite,
)


@extend_schema(
    summary="Enrol a person from a req_id (recognise_user's no_match) or a photo",
    description="Open without a key while FACEAPP_SEED_API_OPEN is on (the default); otherwise needs the `enroll` scope.",
    request={"application/json": AddUserRequest, "multipart/form-data": AddUserRequest},
    responses={201: AddUserResponse, **errors(400, 404, 409, 413, 415)},
    tags=["seed"],
)
@api_view(["POST"])
@parser_classes([JSONParser, MultiPartParser, FormParser])
@permission_classes([seed_permission("enroll")])
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
        actor=Actor.from_request(request),
        liveness=data.get("liveness", False),
    )
    return Response({"status": "success", "message": "User added successfully", "user_id": str(person.id)}, status=201)


# --- People ------------------------------------------------------------------------------------


def _validated(serializer_class, data, **kwargs):
    form = serializer_class(data=data, **kwargs)
    form.is_valid(raise_exception=True)
    return form.validated_data


@extend_schema_view(
    get=extend_schema(summary="List people", parameters=[PeopleQuery], responses={200: PersonSerializer(many=True), **errors(400, 404)}),
    post=extend_schema(
        summary="Create a person (optionally enrolled from a photo)",
        description="JSON without a face, or multipart with `image`: the person is then enrolled with the photo's largest face "
                    "(or `face_index`). Needs the `enroll` scope.",
        request={"application/json": PersonWrite, "multipart/form-data": PersonCreate},
        responses={201: PersonSerializer, **errors(400, 409, 413, 415)},
    ),
)
class PeopleView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    pagination_class = Pages

    def get(self, request):
        query = _validated(PeopleQuery, request.query_params)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(people.people(**query), request, view=self)
        return paginator.get_paginated_response(PersonSerializer(page, many=True).data)

    def post(self, request):
        data = dict(_validated(PersonCreate, request.data))
        upload = data.pop("image", None)
        person = people.create_person(
            image=read_upload(upload) if upload is not None else None,
            image_name=getattr(upload, "name", "") or "",
            actor=Actor.from_request(request),
            **data,
        )
        return Response(PersonSerializer(person).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Get a person", responses={200: PersonSerializer, **errors(404)}),
    put=extend_schema(summary="Replace a person's details (fields not given are cleared)", request=PersonWrite, responses={200: PersonSerializer, **errors(400, 404, 409)}),
    patch=extend_schema(summary="Change some of a person's details", request=PersonWrite, responses={200: PersonSerializer, **errors(400, 404, 409)}),
    delete=extend_schema(
        summary="Delete a person with all their faces",
        description="Deletes the person's faces, crops, thumbnails and source photos from storage, and writes an audit entry.",
        responses={200: Deleted, **errors(404)},
    ),
)
class PersonView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get(self, request, person_id):
        return Response(PersonSerializer(people.get_person(person_id)).data)

    def put(self, request, person_id):
        return self._update(request, person_id, partial=False)

    def patch(self, request, person_id):
        return self._update(request, person_id, partial=True)

    def _update(self, request, person_id, *, partial):
        person = people.get_person(person_id)
        data = dict(_validated(PersonWrite, request.data, partial=partial))
        person = people.update_person(person, replace=not partial, actor=Actor.from_request(request), **data)
        return Response(PersonSerializer(person).data)

    def delete(self, request, person_id):
        person = people.get_person(person_id)
        faces = people.delete_person(person, actor=Actor.from_request(request))
        return Response(Deleted({"status": "deleted", "id": person_id, "faces_deleted": faces}).data)


# --- Faces of a person -------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="List a person's faces", responses={200: FaceSerializer(many=True), **errors(404)}),
    post=extend_schema(
        summary="Add faces to a person from one or more photos",
        description="Each photo must contain a face (else 400 / 601 and nothing is stored); its largest face is taken unless "
                    "`face_index` says which. A face that already belongs to another enrolled person is refused (409 "
                    "`duplicate_face`, naming them in `existing_user_id` / `existing_user_name`: the same duplicate policy as "
                    "enrolment) unless `reviewed_exception` gives the reason to add it anyway (audited). With `keep_good`, "
                    "the good photos are stored and the bad ones listed in `not_added`. Needs the `enroll` scope.",
        request={"multipart/form-data": FacesAdd},
        responses={201: FacesAdded, **errors(400, 404, 409, 413, 415)},
    ),
)
class FacesView(APIView):
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = Pages

    def get(self, request, person_id):
        person = people.get_person(person_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(people.faces_of(person), request, view=self)
        return paginator.get_paginated_response(FaceSerializer(page, many=True, context={"request": request}).data)

    def post(self, request, person_id):
        person = people.get_person(person_id)
        data = _validated(FacesAdd, request.data)
        photos = [people.Photo(read_upload(upload), getattr(upload, "name", "") or "") for upload in data["image"]]
        added = people.add_faces(person, photos, face_index=data.get("face_index"), keep_good=data["keep_good"],
                                 reviewed_exception=data.get("reviewed_exception", ""), actor=Actor.from_request(request))
        if not added.faces and added.not_added:  # keep_good, and every photo was bad: the first one's error
            first = added.not_added[0].error
            first.extra = {**first.extra, "not_added": NotAddedSerializer(added.not_added, many=True).data}
            raise first
        body = {"person_id": person.id, "faces": added.faces, "not_added": added.not_added}
        return Response(FacesAdded(body, context={"request": request}).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Get one face of a person", responses={200: FaceSerializer, **errors(404)}),
    delete=extend_schema(summary="Delete one face (and its files)", responses={200: Deleted, **errors(404)}),
)
class FaceView(APIView):
    def get(self, request, person_id, face_id):
        face = people.get_face(people.get_person(person_id), face_id)
        return Response(FaceSerializer(face, context={"request": request}).data)

    def delete(self, request, person_id, face_id):
        face = people.get_face(people.get_person(person_id), face_id)
        people.delete_face(face, actor=Actor.from_request(request))
        return Response(Deleted({"status": "deleted", "id": face_id}).data)


def _face_image_view(kind: str):
    @extend_schema(
        summary=f"The {kind} of a face (JPEG)",
        description="Biometric data: served only with an API key (`read` scope), never from a public URL.",
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, **errors(404)},
    )
    @api_view(["GET"])
    @renderer_classes([JSONRenderer])
    def view(request, person_id, face_id):
        face = people.get_face(people.get_person(person_id), face_id)
        response = FileResponse(people.open_face_image(face, kind), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        return response

    view.__name__ = view.cls.__name__ = f"face_{kind}"
    return view


face_thumbnail = _face_image_view("thumbnail")
face_crop = _face_image_view("crop")


# --- Watchlists --------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="List watchlists", parameters=[WatchlistQuery], responses={200: WatchlistSerializer(many=True), **errors(400, 404)}),
    post=extend_schema(summary="Create a watchlist (admin scope)", request=WatchlistWrite, responses={201: WatchlistSerializer, **errors(400, 409)}),
)
class WatchlistsView(APIView):
    permission_classes = [ReadOrAdminScope]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    pagination_class = Pages

    def get(self, request):
        query = _validated(WatchlistQuery, request.query_params)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(people.watchlists(**query), request, view=self)
        return paginator.get_paginated_response(WatchlistSerializer(page, many=True).data)

    def post(self, request):
        data = _validated(WatchlistWrite, request.data)
        watchlist = people.create_watchlist(actor=Actor.from_request(request), **data)
        return Response(WatchlistSerializer(watchlist).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Get a watchlist", responses={200: WatchlistSerializer, **errors(404)}),
    put=extend_schema(summary="Replace a watchlist (fields not given are cleared; admin scope)", request=WatchlistWrite, responses={200: WatchlistSerializer, **errors(400, 404, 409)}),
    patch=extend_schema(summary="Change a watchlist (admin scope)", request=WatchlistWrite, responses={200: WatchlistSerializer, **errors(400, 404, 409)}),
    delete=extend_schema(summary="Delete a watchlist (its people stay enrolled; admin scope)", responses={200: Deleted, **errors(404)}),
)
class WatchlistView(APIView):
    permission_classes = [ReadOrAdminScope]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get(self, request, watchlist_id):
        return Response(WatchlistSerializer(people.get_watchlist(watchlist_id)).data)

    def put(self, request, watchlist_id):
        return self._update(request, watchlist_id, partial=False)

    def patch(self, request, watchlist_id):
        return self._update(request, watchlist_id, partial=True)

    def _update(self, request, watchlist_id, *, partial):
        watchlist = people.get_watchlist(watchlist_id)
        data = _validated(WatchlistWrite, request.data, partial=partial)
        watchlist = people.update_watchlist(watchlist, replace=not partial, actor=Actor.from_request(request), **data)
        return Response(WatchlistSerializer(watchlist).data)

    def delete(self, request, watchlist_id):
        watchlist = people.get_watchlist(watchlist_id)
        people.delete_watchlist(watchlist, actor=Actor.from_request(request))
        return Response(Deleted({"status": "deleted", "id": watchlist_id}).data)
