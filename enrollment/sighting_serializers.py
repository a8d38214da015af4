"""API shapes of sightings, the search of the past, unknown groups and corrections."""
from django.urls import reverse
from rest_framework import serializers

from .estimates import EMOTION_CHOICES, GENDER_CHOICES
from .models import Person, label_of, parse_label
from .search_serializers import PersonRef
from .sighting_search import MAX_RESULTS


class UnknownGroupField(serializers.CharField):
    """An unknown group's id: `U-000123` (or the bare number)."""

    def to_internal_value(self, data):
        number = parse_label(super().to_internal_value(data))
        if number is None:
            raise serializers.ValidationError("Give an unknown group id such as U-000123.")
        return number


ATTRIBUTE_FILTERS = ("gender", "age_min", "age_max", "emotion")


class AttributeFilters(serializers.Serializer):
    """Filters on the estimates kept with each sighting (FACEAPP_SIGHTING_ATTRIBUTES): a sighting without the
    estimate does not pass a filter on it."""

    gender = serializers.ChoiceField(choices=GENDER_CHOICES, required=False, help_text="Only faces estimated of this gender.")
    age_min = serializers.FloatField(required=False, min_value=0, max_value=150, help_text="Only faces estimated at least this old.")
    age_max = serializers.FloatField(required=False, min_value=0, max_value=150, help_text="Only faces estimated at most this old.")
    emotion = serializers.ChoiceField(choices=EMOTION_CHOICES, required=False, help_text="Only faces estimated with this emotion.")

    def validate(self, data):
        data = super().validate(data)
        if data.get("age_min") is not None and data.get("age_max") is not None and data["age_min"] > data["age_max"]:
            raise serializers.ValidationError({"age_max": ["age_max is below age_min."]})
        return data


def attribute_filters(data: dict) -> dict:
    """The attribute filters among validated data."""
    return {key: data[key] for key in ATTRIBUTE_FILTERS if data.get(key) is not None}


class SightingSearchRequest(AttributeFilters):
    image = serializers.FileField(required=False, allow_empty_file=True, help_text="A photo: its largest face is searched for.")
    person_id = serializers.PrimaryKeyRelatedField(required=False, queryset=Person.objects.all(),
                                                   help_text="Or an enrolled person (the mean of their faces).")
    unknown_group = UnknownGroupField(required=False, help_text="Or an unknown group, U-000123 (the mean of its best faces).")
    camera = serializers.UUIDField(required=False, help_text="Only sightings of this camera.")
    since = serializers.DateTimeField(required=False, help_text="Only sightings seen at or after this time (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Only sightings seen at or before this time.")
    page = serializers.IntegerField(required=False, default=1, min_value=1)
    page_size = serializers.IntegerField(required=False, default=50, min_value=1, max_value=200,
                                         help_text=f"Pages go up to the {MAX_RESULTS}th most similar sighting.")

    def validate(self, data):
        data = super().validate(data)
        given = [key for key in ("image", "person_id", "unknown_group") if key in data]
        if len(given) != 1:
            raise serializers.ValidationError("Give exactly one of image, person_id and unknown_group.")
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise serializers.ValidationError({"until": ["until is before since."]})
        return data


class SightingSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    source = serializers.ChoiceField(choices=["camera", "api"])
    seen_at = serializers.DateTimeField()
    until = serializers.DateTimeField()
    camera_id = serializers.UUIDField(allow_null=True)
    camera_name = serializers.CharField()
    api_key_name = serializers.CharField()
    event_id = serializers.UUIDField(allow_null=True)
    verdict = serializers.CharField(help_text="The decision taken when it was seen: named, close, unknown, low_quality.")
    decision_similarity = serializers.FloatField(allow_null=True, source="similarity")
    quality = serializers.FloatField()
    person = PersonRef(allow_null=True)
    unknown_group = serializers.CharField(allow_null=True)
    gender = serializers.CharField(allow_null=True, help_text="Estimated from the crop when it was kept (null: not estimated).")
    age = serializers.FloatField(allow_null=True)
    emotion = serializers.CharField(allow_null=True)
    crop_url = serializers.CharField()


def sighting_json(sighting, request=None) -> dict:
    url = reverse("sighting-crop", kwargs={"sighting_id": sighting.id})
    person = sighting.person
    return {
        "id": str(sighting.id), "source": sighting.source, "seen_at": sighting.seen_at.isoformat(),
        "until": sighting.until.isoformat(), "camera_id": str(sighting.camera_id) if sighting.camera_id else None,
        "camera_name": sighting.camera_name, "api_key_name": sighting.api_key_name,
        "event_id": str(sighting.event_id) if sighting.event_id else None, "verdict": sighting.verdict,
        "decision_similarity": sighting.similarity, "quality": round(sighting.quality, 4),
        "person": ({"id": str(person.id), "name": person.name, "email": person.email, "external_id": person.external_id}
                   if person is not None else None),
        "unknown_group": label_of(sighting.unknown_group_id) if sighting.unknown_group_id else None,
        "gender": sighting.gender, "age": sighting.age, "emotion": sighting.emotion,
        "crop_url": request.build_absolute_uri(url) if request is not None else url,
    }


class SightingHit(SightingSerializer):
    similarity = serializers.FloatField(help_text="Cosine similarity to the searched face.")


class SightingSearchResponse(serializers.Serializer):
    query = serializers.DictField(help_text="What was searched for: kind (image, person, unknown_group) and details.")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    has_more = serializers.BooleanField()
    results = SightingHit(many=True)


def search_response(result, request=None) -> dict:
    return {"query": result.query, "page": result.page, "page_size": result.page_size, "has_more": result.has_more,
            "results": [{**sighting_json(hit.sighting, request), "similarity": hit.similarity} for hit in result.hits]}


class UnknownGroupQuery(serializers.Serializer):
    camera = serializers.UUIDField(required=False)
    since = serializers.DateTimeField(required=False, help_text="Groups seen at or after this time.")
    until = serializers.DateTimeField(required=False, help_text="Groups seen at or before this time.")
    min_sightings = serializers.IntegerField(required=False, min_value=1, help_text="Default FACEAPP_UNKNOWN_MIN_SIGHTINGS.")


class BestShot(serializers.Serializer):
    sighting_id = serializers.UUIDField()
    quality = serializers.FloatField()
    crop_url = serializers.CharField()


class UnknownGroupSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="U-000123: stable across sweeps.")
    sightings = serializers.IntegerField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    cameras = serializers.ListField(child=serializers.CharField())
    best_shots = BestShot(many=True)


def group_json(group, shots, request=None) -> dict:
    def url(sighting):
        path = reverse("sighting-crop", kwargs={"sighting_id": sighting.id})
        return request.build_absolute_uri(path) if request is not None else path

    return {
        "id": group.label, "sightings": group.sightings_count,
        "first_seen": group.first_seen.isoformat() if group.first_seen else None,
        "last_seen": group.last_seen.isoformat() if group.last_seen else None,
        "cameras": sorted(name for name in group.camera_names if name),
        "best_shots": [{"sighting_id": str(s.id), "quality": round(s.quality, 4), "crop_url": url(s)} for s in shots],
    }


class EnrolGroupRequest(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    birthdate = serializers.DateField(required=False, allow_null=True)
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True)
    external_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    faces = serializers.IntegerField(required=False, default=5, min_value=1, max_value=20,
                                     help_text="How many of the group's best faces become the person's faces.")


class GroupToPersonRequest(serializers.Serializer):
    person_id = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all())
    faces = serializers.IntegerField(required=False, default=5, min_value=1, max_value=20)


class NotPersonRequest(serializers.Serializer):
    person_id = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all(), required=False,
                                                   help_text="Default: the person the sighting is named as.")


class MergeRequest(serializers.Serializer):
    other = UnknownGroupField(help_text="The group merged into this one (its id disappears).")


class PersonCreated(serializers.Serializer):
    person = PersonRef()
    sightings = serializers.IntegerField()


class GroupJoined(serializers.Serializer):
    unknown_group = serializers.CharField()


class UndoResponse(serializers.Serializer):
    undo_entry = serializers.IntegerField(help_text="The audit entry of the undo.")
    undid = serializers.IntegerField(help_text="The audit entry undone.")
    details = serializers.DictField()


def page_of(item_serializer, name: str):
    """The shape of a page of `item_serializer` (faceapp.pagination.Pages): count, next, previous, results."""
    return type(name, (serializers.Serializer,), {
        "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True), "results": item_serializer(many=True),
    })


UnknownGroupPage = page_of(UnknownGroupSerializer, "UnknownGroupPage")
SightingPage = page_of(SightingSerializer, "SightingPage")
