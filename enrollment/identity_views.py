"""The API of identity edits: merge two people, split faces off into a new person, move a face (enrollment.identity_edits).
URLs are in faceapp/urls.py."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from faceapp.apikeys.permissions import EnrollScope
from faceapp.audit.log import Actor
from faceapp.parsers import JSONParser
from faceapp.schema import errors

from . import identity_edits, people
from .models import Person
from .serializers import PersonSerializer

PARSERS = [JSONParser, MultiPartParser, FormParser]


class MergePeopleRequest(serializers.Serializer):
    other = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all(), help_text="The person merged into this one (gone after).")


class SplitRequest(serializers.Serializer):
    face_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, help_text="This person's faces to split off.")
    name = serializers.CharField(max_length=200)
    birthdate = serializers.DateField(required=False, allow_null=True)
    email = serializers.EmailField(required=False, allow_null=True)


class MoveFaceRequest(serializers.Serializer):
    person_id = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all(), help_text="Whose face it is.")


def _validated(serializer_class, data):
    form = serializer_class(data=data)
    form.is_valid(raise_exception=True)
    return form.validated_data


def _person(person, request):
    return PersonSerializer(Person.objects.get(pk=person.pk), context={"request": request}).data


@extend_schema(summary="Merge another person into this one",
               description="Their faces, sightings, corrections and camera events become this person's; the other is gone. "
                           "Needs the `enroll` scope; audited.",
               request={"application/json": MergePeopleRequest}, responses={200: PersonSerializer, **errors(400, 404)},
               tags=["people"])
@api_view(["POST"])
@parser_classes(PARSERS)
@permission_classes([EnrollScope])
def merge(request, person_id):
    data = _validated(MergePeopleRequest, request.data)
    kept = identity_edits.merge_people(people.get_person(person_id), data["other"], actor=Actor.from_request(request))
    return Response(_person(kept, request))


@extend_schema(summary="Split some of a person's faces off into a new person",
               description="Needs the `enroll` scope; audited.", request={"application/json": SplitRequest},
               responses={201: PersonSerializer, **errors(400, 404, 409)}, tags=["people"])
@api_view(["POST"])
@parser_classes(PARSERS)
@permission_classes([EnrollScope])
def split(request, person_id):
    data = _validated(SplitRequest, request.data)
    new = identity_edits.split_person(people.get_person(person_id), data["face_ids"], name=data["name"],
                                      birthdate=data.get("birthdate"), email=data.get("email"), actor=Actor.from_request(request))
    return Response(_person(new, request), status=status.HTTP_201_CREATED)


@extend_schema(summary="Move a face to the person it belongs to", description="Needs the `enroll` scope; audited.",
               request={"application/json": MoveFaceRequest}, responses={200: PersonSerializer, **errors(400, 404)},
               tags=["people"])
@api_view(["POST"])
@parser_classes(PARSERS)
@permission_classes([EnrollScope])
def move_face(request, person_id, face_id):
    data = _validated(MoveFaceRequest, request.data)
    face = people.get_face(people.get_person(person_id), face_id)
    identity_edits.move_face(face, data["person_id"], actor=Actor.from_request(request))
    return Response(_person(data["person_id"], request))
