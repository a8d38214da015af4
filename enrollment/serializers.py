from rest_framework import serializers


class AddUserRequest(serializers.Serializer):
    name = serializers.CharField(max_length=200, trim_whitespace=True)
    birthdate = serializers.DateField(input_formats=["iso-8601"], help_text="ISO 8601 date, e.g. 1961-08-04.")
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True, max_length=254)
    req_id = serializers.CharField(required=False, max_length=64, help_text="From a recognise_user no_match answer.")
    image = serializers.FileField(required=False, allow_empty_file=True, help_text="A photo, instead of req_id.")
    external_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    allow_duplicates = serializers.BooleanField(
        required=False, default=None, allow_null=True,
        help_text="Enrol even if the face already matches someone (default: FACEAPP_ALLOW_DUPLICATES).",
    )

    def validate(self, data):
        has_req_id, has_image = bool(data.get("req_id")), data.get("image") is not None
        if has_req_id and has_image:
            raise serializers.ValidationError({"req_id": "Give either req_id or image, not both."})
        if not has_req_id and not has_image:
            raise serializers.ValidationError({"req_id": "Give req_id (from recognise_user) or an image."})
        return data
