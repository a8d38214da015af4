from django.urls import reverse
from rest_framework import serializers

from .estimates import GENDER_CHOICES
from .models import Face, Person, Watchlist
from .people import PEOPLE_ORDERINGS
from .validators import validate_birthdate


class AddUserRequest(serializers.Serializer):
    name = serializers.CharField(max_length=200, trim_whitespace=True)
    birthdate = serializers.DateField(input_formats=["iso-8601"], validators=[validate_birthdate],
                                      help_text="ISO 8601 date, e.g. 1961-08-04 (1800-01-01 to today).")
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True, max_length=254)
    req_id = serializers.CharField(required=False, max_length=64, help_text="From a recognise_user no_match answer.")
    image = serializers.FileField(required=False, allow_empty_file=True, help_text="A photo, instead of req_id.")
    external_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    allow_duplicates = serializers.BooleanField(
        required=False, default=None, allow_null=True,
        help_text="Enrol even if the face already matches someone (default: FACEAPP_ALLOW_DUPLICATES).",
    )
    liveness = serializers.BooleanField(
        required=False, default=False,
        help_text="Refuse (400 liveness_failed) a face that fails the passive liveness check (needs FACEAPP_LIVENESS_MODEL; "
                  "docs/attributes.md (liveness) says what it does and does not stop).",
    )

    def validate(self, data):
        has_req_id, has_image = bool(data.get("req_id")), data.get("image") is not None
        if has_req_id and has_image:
            raise serializers.ValidationError({"req_id": "Give either req_id or image, not both."})
        if not has_req_id and not has_image:
            raise serializers.ValidationError({"req_id": "Give req_id (from recognise_user) or an image."})
        return data


class AddUserResponse(serializers.Serializer):
    status = serializers.ChoiceField(choices=["success"])
    message = serializers.CharField()
    user_id = serializers.UUIDField()


# --- The integrator API: people, faces, watchlists ---------------------------------------------


METADATA_MAX_DEPTH = 32


def _storable_json(value):
    """PostgreSQL text and jsonb hold no NUL characters or lone surrogates, and metadata nests at most 32 deep:
    refuse anything else as bad input. Walks the value without recursion."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > METADATA_MAX_DEPTH:
            raise serializers.ValidationError(f"Nested more than {METADATA_MAX_DEPTH} levels deep.")
        if isinstance(item, str):
            if "\x00" in item:
                raise serializers.ValidationError("Null characters are not allowed.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise serializers.ValidationError("Surrogate characters are not allowed.") from None
        elif isinstance(item, dict):
            pending.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, list):
            pending.extend((part, depth + 1) for part in item)
    return value


class MetadataField(serializers.JSONField):
    """A JSON object of the client's own; in a form field, JSON text (nested too deeply to parse is bad input)."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except RecursionError:
            raise serializers.ValidationError(f"Nested more than {METADATA_MAX_DEPTH} levels deep.") from None


class WatchlistRef(serializers.ModelSerializer):
    class Meta:
        model = Watchlist
        fields = ["id", "name"]


class PersonSerializer(serializers.ModelSerializer):
    """A person as the API shows them."""

    watchlists = WatchlistRef(many=True, read_only=True)
    face_count = serializers.IntegerField(read_only=True, help_text="How many faces are enrolled.")

    class Meta:
        model = Person
        fields = ["id", "name", "email", "birthdate", "external_id", "metadata", "watchlists", "face_count", "created_at", "updated_at"]
        read_only_fields = fields


class PersonWrite(serializers.Serializer):
    """Create (name required) or change (every field optional with PATCH) a person."""

    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True, max_length=254)
    birthdate = serializers.DateField(required=False, allow_null=True, input_formats=["iso-8601"], validators=[validate_birthdate],
                                      help_text="ISO 8601, e.g. 1961-08-04 (1800-01-01 to today).")
    external_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200,
                                        help_text="Your system's id for the person; unique.")
    metadata = MetadataField(required=False, help_text="Any JSON object of your own.", validators=[_storable_json])
    watchlists = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Watchlist.objects.all(),
                                                    help_text="Ids of the watchlists the person belongs to (replaces the list).")

    def validate_metadata(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class PersonCreate(PersonWrite):
    """JSON, or multipart with an `image` to enrol the person with a face at once."""

    image = serializers.FileField(required=False, allow_empty_file=True, help_text="Optional photo: the person is enrolled with its largest face.")
    face_index = serializers.IntegerField(required=False, min_value=0, max_value=1000,
                                          help_text="Take this face of the photo instead of the largest (numbered from 0, largest first, as /detect lists them).")
    allow_duplicates = serializers.BooleanField(required=False, default=None, allow_null=True,
                                                help_text="Enrol even if the face already matches someone (default: FACEAPP_ALLOW_DUPLICATES).")


class PeopleQuery(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200, help_text="Part of the name, any case.")
    email = serializers.CharField(required=False, max_length=254, help_text="The exact email, any case.")
    watchlist = serializers.UUIDField(required=False, help_text="Only people in this watchlist.")
    ordering = serializers.ChoiceField(required=False, choices=PEOPLE_ORDERINGS, default="name")
    gender = serializers.ChoiceField(required=False, choices=GENDER_CHOICES,
                                     help_text="Only people most of whose faces were estimated of this gender.")
    age_min = serializers.FloatField(required=False, min_value=0, max_value=150,
                                     help_text="Only people whose faces' mean estimated age is at least this.")
    age_max = serializers.FloatField(required=False, min_value=0, max_value=150,
                                     help_text="Only people whose faces' mean estimated age is at most this.")

    def validate(self, data):
        if data.get("age_min") is not None and data.get("age_max") is not None and data["age_min"] > data["age_max"]:
            raise serializers.ValidationError({"age_max": ["age_max is below age_min."]})
        return data


class FaceSerializer(serializers.ModelSerializer):
    thumbnail_url = serializers.SerializerMethodField(help_text="96×96 JPEG of the face (GET it with the API key).")
    crop_url = serializers.SerializerMethodField(help_text="The 160×160 JPEG crop the embedding was computed from (with the API key).")
    person_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Face
        fields = ["id", "person_id", "thumbnail_url", "crop_url", "box", "landmarks", "quality", "source", "embedding_model",
                  "gender", "gender_score", "age", "created_at"]
        read_only_fields = fields

    def _url(self, face, kind: str) -> str:
        url = reverse(f"person-face-{kind}", kwargs={"person_id": face.person_id, "face_id": face.id})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    def get_thumbnail_url(self, face) -> str:
        return self._url(face, "thumbnail")

    def get_crop_url(self, face) -> str:
        return self._url(face, "crop")


class FacesAdd(serializers.Serializer):
    image = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), min_length=1, max_length=20,
        help_text="One or more photos (repeat the field); each must contain a face. All are stored, or none.",
    )
    face_index = serializers.IntegerField(required=False, min_value=0, max_value=1000,
                                          help_text="Which face of each photo to take (from 0, largest first); default the largest.")
    keep_good = serializers.BooleanField(
        required=False, default=False,
        help_text="Store the good photos and list the bad ones in `not_added` (default: all or none, the first bad photo is the error).",
    )
    reviewed_exception = serializers.CharField(
        required=False, allow_blank=True, max_length=500, trim_whitespace=True,
        help_text="Add faces that already belong to another enrolled person anyway: the reason, after a review by a person. "
                  "Each such face is written to the audit log with the person it resembles. Without it such a face is "
                  "refused (409 duplicate_face, naming the other person).",
    )


class NotAddedSerializer(serializers.Serializer):
    image_index = serializers.IntegerField(source="index", help_text="The photo's place in the request, from 0.")
    image_name = serializers.CharField(source="name")
    error_code = serializers.SerializerMethodField()
    message = serializers.CharField(source="error.message")
    existing_user_id = serializers.SerializerMethodField(help_text="For duplicate_face: the person the face already belongs to.")
    existing_user_name = serializers.SerializerMethodField()

    def get_error_code(self, item) -> str:
        return str(item.error.error_code)

    def get_existing_user_id(self, item) -> str | None:
        return item.error.extra.get("existing_user_id")

    def get_existing_user_name(self, item) -> str | None:
        return item.error.extra.get("existing_user_name")


class FacesAdded(serializers.Serializer):
    person_id = serializers.UUIDField()
    faces = FaceSerializer(many=True)
    not_added = NotAddedSerializer(many=True, required=False, help_text="With keep_good: the photos not stored, and why.")


class WatchlistSerializer(serializers.ModelSerializer):
    people_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Watchlist
        fields = ["id", "name", "description", "people_count", "created_at", "updated_at"]
        read_only_fields = fields


class WatchlistWrite(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    people = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Person.objects.all(),
                                                help_text="Ids of the people in the watchlist (replaces the list).")


class WatchlistQuery(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200, help_text="Part of the name, any case.")


class Deleted(serializers.Serializer):
    status = serializers.ChoiceField(choices=["deleted"])
    id = serializers.UUIDField()
    faces_deleted = serializers.IntegerField(required=False)
