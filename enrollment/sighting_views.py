"""The sightings API: search of the past by face, a sighting's crop and corrections, unknown groups and theirs.
URLs are in faceapp/urls.py; the work is in enrollment.sighting_search, .unknowns and .corrections."""
from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from faceapp.apikeys.permissions import EnrollScope, ReadOrEnrollScope, ReadScope
from faceapp.audit.log import Actor
from faceapp.pagination import Pages
from faceapp.parsers import JSONParser
from faceapp.schema import errors
from recognition.exceptions import NotFound
from recognition.uploads import read_upload

from . import corrections, people, sighting_search, timeline, undo, unknowns
from .identification import current_embedding_model
from .models import Sighting, parse_label
from .sighting_serializers import (
    AttributeFilters,
    EnrolGroupRequest,
    GroupJoined,
    GroupToPersonRequest,
    MergeRequest,
    NotPersonRequest,
    PersonCreated,
    SightingSearchRequest,
    SightingPage,
    SightingSearchResponse,
    SightingSerializer,
    UndoResponse,
    UnknownGroupPage,
    UnknownGroupQuery,
    UnknownGroupSerializer,
    attribute_filters,
    group_json,
    search_response,
    sighting_json,
)

GROUP_PARAMETER = OpenApiParameter("group", str, OpenApiParameter.PATH, description="U-000123")
BODY_PARSERS = [JSONParser, MultiPartParser, FormParser]


def _validated(serializer_class, data):
    form = serializer_class(data=data)
    form.is_valid(raise_exception=True)
    return form.validated_data


def _group_id(group: str) -> int:
    number = parse_label(group)
    if number is None:
        raise NotFound(f"Unknown group {group} not found.")
    return number


def _sighting(sighting_id) -> Sighting:
    sighting = Sighting.objects.select_related("person").filter(pk=sighting_id).first()
    if sighting is None:
        raise NotFound(f"Sighting {sighting_id} not found.")
    return sighting


@extend_schema(
    summary="Search the past by face: where and when was this face seen?",
    description="Give a photo (its largest face), an enrolled person or an unknown group; get the most similar sightings, "
                "best first, with time, camera, crop and similarity, optionally of one camera and within a time range, a page "
                "at a time. It ranks, it names nobody: each sighting carries the decision taken when it was seen. Needs the "
                "`read` scope; audited.",
    request={"multipart/form-data": SightingSearchRequest, "application/json": SightingSearchRequest},
    responses={200: SightingSearchResponse, **errors(400, 404, 413, 415)},
    tags=["sightings"],
)
@api_view(["POST"])
@parser_classes(BODY_PARSERS)
@permission_classes([ReadScope])
def search(request):
    data = _validated(SightingSearchRequest, request.data)
    model = current_embedding_model()
    if "image" in data:
        vector, query = sighting_search.vector_of_image(read_upload(data["image"]))
    elif "person_id" in data:
        vector, query = sighting_search.vector_of_person(data["person_id"], model)
    else:
        vector, query = sighting_search.vector_of_group(data["unknown_group"])
    result = sighting_search.search(vector, query=query, embedding_model=model, camera=data.get("camera"),
                                    since=data.get("since"), until=data.get("until"), page=data["page"],
                                    page_size=data["page_size"], actor=Actor.from_request(request),
                                    **attribute_filters(data))
    return Response(search_response(result, request))


@extend_schema(summary="A sighting", responses={200: SightingSerializer, **errors(404)}, tags=["sightings"])
@api_view(["GET"])
@permission_classes([ReadScope])
def sighting_detail(request, sighting_id):
    return Response(sighting_json(_sighting(sighting_id), request))


@extend_schema(summary="A sighting's face crop (JPEG)", responses={(200, "image/jpeg"): bytes, **errors(404)}, tags=["sightings"])
@api_view(["GET"])
@permission_classes([ReadScope])
def sighting_crop(request, sighting_id):
    sighting = _sighting(sighting_id)
    try:
        return FileResponse(sighting.crop.open("rb"), content_type="image/jpeg")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc


@extend_schema(
    summary="Not this person: the sighting is not who it was named as",
    description="Remembered: the sighting leaves the person and joins an unknown group. Needs the `enroll` scope; audited.",
    request={"application/json": NotPersonRequest}, responses={200: SightingSerializer, **errors(400, 404)}, tags=["sightings"],
)
@api_view(["POST"])
@parser_classes(BODY_PARSERS)
@permission_classes([EnrollScope])
def sighting_not_person(request, sighting_id):
    data = _validated(NotPersonRequest, request.data)
    sighting = corrections.not_person(_sighting(sighting_id), person=data.get("person_id"), actor=Actor.from_request(request))
    return Response(sighting_json(_sighting(sighting.id), request))


@extend_schema(
    summary="Not this group: the sighting does not belong to its unknown group",
    description="Remembered: it is kept apart from every face the group holds, at every later sweep, and joins another "
                "group. Needs the `enroll` scope; audited.",
    request=None, responses={200: GroupJoined, **errors(400, 404)}, tags=["sightings"],
)
@api_view(["POST"])
@permission_classes([EnrollScope])
def sighting_not_group(request, sighting_id):
    joined = corrections.not_group(_sighting(sighting_id), actor=Actor.from_request(request))
    return Response({"unknown_group": joined.label})


@extend_schema(
    summary="Unknown groups: people seen but not enrolled",
    description="Groups with at least `min_sightings` sightings, most recently seen first, each with its count, first and "
                "last seen, cameras and best shots. Needs the `read` scope.",
    parameters=[UnknownGroupQuery], responses={200: UnknownGroupPage, **errors(400)}, tags=["unknown groups"],
    operation_id="unknown_groups_list",
)
@api_view(["GET"])
@permission_classes([ReadScope])
def groups(request):
    query = _validated(UnknownGroupQuery, request.query_params)
    pages = Pages()
    page = pages.paginate_queryset(unknowns.listed_groups(**query), request)
    return pages.get_paginated_response([group_json(g, unknowns.best_shots(g.pk), request) for g in page])


@extend_schema(summary="An unknown group (GET), or erase it with its sightings, vectors and crops (DELETE)",
               description="DELETE needs the `enroll` scope; audited.", parameters=[GROUP_PARAMETER],
               responses={200: UnknownGroupSerializer, **errors(404)}, tags=["unknown groups"])
@api_view(["GET", "DELETE"])
@permission_classes([ReadOrEnrollScope])
def group_detail(request, group):
    if request.method == "DELETE":
        deleted = corrections.erase_group(_group_id(group), actor=Actor.from_request(request))
        return Response({"deleted": True, "sightings_deleted": deleted})
    found = unknowns.get_group(_group_id(group))
    return Response(group_json(found, unknowns.best_shots(found.pk, limit=8), request))


class TimelineQuery(AttributeFilters, UnknownGroupQuery):
    """A person's timeline: camera, since, until and the attribute filters (min_sightings does not apply)."""


@extend_schema(summary="A person's timeline: their sightings, newest first",
               description="Filter by camera, time (since/until on when each was seen) and the estimated attributes. Needs the `read` scope.",
               parameters=[TimelineQuery], responses={200: SightingPage, **errors(400, 404)}, operation_id="people_sightings_list",
               tags=["sightings"])
@api_view(["GET"])
@permission_classes([ReadScope])
def person_sightings(request, person_id):
    person = people.get_person(person_id)
    query = _validated(TimelineQuery, request.query_params)
    sightings = timeline.sightings_of(person=person, camera=query.get("camera"), since=query.get("since"),
                                      until=query.get("until"), **attribute_filters(query))
    pages = Pages()
    page = pages.paginate_queryset(sightings, request)
    return pages.get_paginated_response([sighting_json(s, request) for s in page])


@extend_schema(summary="An unknown group's sightings, newest first", parameters=[GROUP_PARAMETER],
               responses={200: SightingPage, **errors(404)}, tags=["unknown groups"], operation_id="unknown_groups_sightings_list")
@api_view(["GET"])
@permission_classes([ReadScope])
def group_sightings(request, group):
    found = unknowns.get_group(_group_id(group))
    pages = Pages()
    page = pages.paginate_queryset(timeline.sightings_of(group=found), request)
    return pages.get_paginated_response([sighting_json(s, request) for s in page])


@extend_schema(
    summary="Enrol an unknown group as a new person",
    description="Its best faces become the person's faces (the duplicate check of enrolment applies), its sightings theirs; "
                "the group's id is gone. Needs the `enroll` scope; audited.",
    parameters=[GROUP_PARAMETER], request={"application/json": EnrolGroupRequest},
    responses={201: PersonCreated, **errors(400, 404, 409)}, tags=["unknown groups"],
)
@api_view(["POST"])
@parser_classes(BODY_PARSERS)
@permission_classes([EnrollScope])
def group_enrol(request, group):
    data = _validated(EnrolGroupRequest, request.data)
    person = corrections.enrol_group(_group_id(group), name=data["name"], birthdate=data.get("birthdate"),
                                     email=data.get("email") or None, external_id=data.get("external_id") or None,
                                     faces=data["faces"], actor=Actor.from_request(request))
    return Response(_person_created(person), status=status.HTTP_201_CREATED)


@extend_schema(
    summary="Add an unknown group to an enrolled person",
    description="Its best faces join the person's (duplicate check of enrolment), its sightings become theirs. Refused (409) "
                "when an operator said some of its sightings are not this person. Needs the `enroll` scope; audited.",
    parameters=[GROUP_PARAMETER], request={"application/json": GroupToPersonRequest},
    responses={200: PersonCreated, **errors(400, 404, 409)}, tags=["unknown groups"],
)
@api_view(["POST"])
@parser_classes(BODY_PARSERS)
@permission_classes([EnrollScope])
def group_add_to_person(request, group):
    data = _validated(GroupToPersonRequest, request.data)
    person = corrections.add_group_to_person(_group_id(group), data["person_id"], faces=data["faces"],
                                             actor=Actor.from_request(request))
    return Response(_person_created(person))


@extend_schema(
    summary="Not this person: no sighting of the group is this enrolled person",
    description="Remembered per sighting; adding the group to the person is then refused. Needs the `enroll` scope; audited.",
    parameters=[GROUP_PARAMETER], request={"application/json": GroupToPersonRequest},
    responses={200: UnknownGroupSerializer, **errors(400, 404)}, tags=["unknown groups"],
)
@api_view(["POST"])
@parser_classes(BODY_PARSERS)
@permission_classes([EnrollScope])
def group_not_person(request, group):
    data = _validated(GroupToPersonRequest, request.data)
    corrections.group_not_person(_group_id(group), data["person_id"], actor=Actor.from_request(request))
    found = unknowns.get_group(_group_id(group))
    return Response(group_json(found, unknowns.best_shots(found.pk), request))


@extend_schema(
    summary="Merge another unknown group into this one",
    description="Both groups' sightings are pinned together (sweeps keep them so); the other id is gone. Refused (409) when "
                "the groups hold faces seen at the same time or kept apart by an operator. Needs the `enroll` scope; audited.",
    parameters=[GROUP_PARAMETER], request={"application/json": MergeRequest},
    responses={200: UnknownGroupSerializer, **errors(400, 404, 409)}, tags=["unknown groups"],
)
@api_view(["POST"])
@parser_classes(BODY_PARSERS)
@permission_classes([EnrollScope])
def group_merge(request, group):
    data = _validated(MergeRequest, request.data)
    merged = corrections.merge_groups(_group_id(group), data["other"], actor=Actor.from_request(request))
    return Response(group_json(merged, unknowns.best_shots(merged.pk), request))


def _person_created(person) -> dict:
    return {"person": {"id": str(person.id), "name": person.name, "email": person.email, "external_id": person.external_id},
            "sightings": person.sightings.count()}



@extend_schema(
    summary="Undo a correction",
    description="By the id of its audit entry: a merge of unknown groups, not-this-group, not-this-person on a sighting or "
                "a group, enrolling a group or adding it to a person (the faces it gave are deleted, its sightings go back to "
                "a group with the old id), the edits of enrolled people, not-this-person on a camera event. All or nothing: "
                "when what the correction changed was corrected or moved on since, 400 `not_undoable` with the reason. "
                "Erasures cannot be undone. Needs the `enroll` scope; audited; once per entry.",
    request=None, responses={200: UndoResponse, **errors(400, 404, 409)}, tags=["unknown groups"],
)
@api_view(["POST"])
@permission_classes([EnrollScope])
def undo_correction(request, entry_id):
    entry = undo.undo(entry_id, actor=Actor.from_request(request))
    return Response({"undo_entry": entry.pk, "undid": entry.details["undoes"], "details": entry.details})
