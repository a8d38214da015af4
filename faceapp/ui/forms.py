"""The operator pages' forms. Field errors from the services (a taken email, ...) are put next to their field."""
from __future__ import annotations

from django import forms

from enrollment.models import Watchlist
from recognition.exceptions import EmailTaken, ExternalIdTaken, FaceAppError


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """One or several image files."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class PhotosForm(forms.Form):
    photos = PhotosField(label="Photos", help_text="One or several photos (JPEG, PNG, WebP, BMP).")


PRESET_CHOICES = [
    ("", "Default (balanced unless configured)"),
    ("strict", "Strict: at most 1 stranger in 1,000 named"),
    ("balanced", "Balanced: at most 1 stranger in 100 named"),
    ("permissive", "Permissive: at most 5 strangers in 100 named"),
]


class PhotoForm(forms.Form):
    photo = forms.FileField(label="Photo", widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))
    preset = forms.ChoiceField(label="Decision", choices=PRESET_CHOICES, required=False)


PERSON_FIELDS = ("name", "birthdate", "email", "external_id", "watchlists")


class PersonForm(forms.Form):
    name = forms.CharField(max_length=200)
    birthdate = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    email = forms.EmailField(required=False, max_length=254)
    external_id = forms.CharField(required=False, max_length=200, label="External id")
    watchlists = forms.ModelMultipleChoiceField(
        queryset=Watchlist.objects.order_by("name"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Groups the person belongs to (made in the admin: Enrolment › Watchlists).",
    )

    def fields_for_service(self) -> dict:
        data = {f: self.cleaned_data.get(f) for f in PERSON_FIELDS}
        data["email"] = data.get("email") or None
        data["external_id"] = data.get("external_id") or None
        return data

    def add_service_error(self, exc: FaceAppError) -> None:
        """A refusal from the services, next to the field it is about (or above the form)."""
        if isinstance(exc, EmailTaken):
            self.add_error("email", exc.message)
        elif isinstance(exc, ExternalIdTaken):
            self.add_error("external_id", exc.message)
        else:
            self.add_error(None, exc.message)


class EnrolForm(PersonForm):
    """The person's details and the picked faces (req_ids of pending enrolments)."""

    req_id = forms.MultipleChoiceField(label="Faces", widget=forms.CheckboxSelectMultiple,
                                       error_messages={"required": "Pick at least one face."})
    shown = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, req_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["req_id"].choices = [(r, r) for r in req_ids]


class PeopleFilter(forms.Form):
    q = forms.CharField(required=False, label="Name or email")
    watchlist = forms.ModelChoiceField(queryset=Watchlist.objects.order_by("name"), required=False, empty_label="any watchlist")
