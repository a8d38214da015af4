"""The operator pages' forms. Field errors from the services (a taken email, ...) are put next to their field."""
from __future__ import annotations

from django import forms

from enrollment.estimates import GENDER_CHOICES
from enrollment.models import Watchlist
from enrollment.validators import validate_birthdate
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
    """'Who is this?': a photo, the preset that decides, and optionally the watchlists to search."""

    photo = forms.FileField(label="Photo", widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))
    preset = forms.ChoiceField(label="Decision", choices=PRESET_CHOICES, required=False)
    watchlists = forms.ModelMultipleChoiceField(
        queryset=Watchlist.objects.order_by("name"), required=False, widget=forms.CheckboxSelectMultiple,
        label="Search only these watchlists", help_text="None ticked: everybody enrolled.",
    )


PERSON_FIELDS = ("name", "birthdate", "email", "external_id", "watchlists")


class PersonForm(forms.Form):
    name = forms.CharField(max_length=200)
    birthdate = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_birthdate])
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
    liveness = forms.BooleanField(
        required=False, label="Require a live face (passive liveness check of every picked face)",
        help_text="Refuses a face that looks like a photo or screen of a face. Not a security guarantee on its own: "
                  "see docs/attributes.md.",
    )

    def __init__(self, *args, req_ids=(), liveness_off: str | None = None, **kwargs):
        """`liveness_off`: why this server cannot check liveness (the box is then shown disabled, with the reason)."""
        super().__init__(*args, **kwargs)
        self.fields["req_id"].choices = [(r, r) for r in req_ids]
        if liveness_off:
            self.fields["liveness"].disabled = True
            self.fields["liveness"].help_text = liveness_off


class AddFacesForm(forms.Form):
    """Adding picked faces (req_ids of pending enrolments) to a person; a face that is somebody else's needs a
    tick of its own under `reviewed` and the reason."""

    req_id = forms.MultipleChoiceField(label="Faces", widget=forms.CheckboxSelectMultiple,
                                       error_messages={"required": "Pick at least one face."})
    reviewed = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(required=False, max_length=500, label="Why add it anyway (reviewed exception)",
                             help_text="Written to the audit log with the person the face resembles.")
    shown = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, req_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["req_id"].choices = [(r, r) for r in req_ids]
        self.fields["reviewed"].choices = [(r, r) for r in req_ids]

    def clean(self):
        data = super().clean()
        picked_reviewed = set(data.get("reviewed") or ()) & set(data.get("req_id") or ())
        if picked_reviewed and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the face is added although it is somebody else's: the reason is audited.")
        return data

    def reviewed_reasons(self) -> dict[str, str]:
        reason = (self.cleaned_data.get("reason") or "").strip()
        return {r: reason for r in self.cleaned_data.get("reviewed") or ()} if reason else {}


PEOPLE_SORTS = {"name": "name", "-name": "-name", "faces": "face_count", "-faces": "-face_count",
                "created": "created_at", "-created": "-created_at"}


class PeopleFilter(forms.Form):
    q = forms.CharField(required=False, label="Name, email or external id")
    watchlist = forms.ModelChoiceField(queryset=Watchlist.objects.order_by("name"), required=False, empty_label="any watchlist")
    sort = forms.ChoiceField(required=False, choices=[(k, k) for k in PEOPLE_SORTS])
    gender = forms.ChoiceField(required=False, choices=[("", "any gender"), *GENDER_CHOICES], label="Estimated gender")
    age_min = forms.IntegerField(required=False, min_value=0, max_value=150, label="Estimated age from")
    age_max = forms.IntegerField(required=False, min_value=0, max_value=150, label="to")

    def attribute_filters(self) -> dict:
        """The estimate filters given (enrollment.people.people's gender, age_min, age_max)."""
        data = self.cleaned_data
        return {k: data[k] for k in ("gender", "age_min", "age_max") if data.get(k) not in (None, "")}


class WatchlistForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000)

    def add_service_error(self, exc: FaceAppError) -> None:
        self.add_error("name" if getattr(exc, "error_code", "") == "watchlist_exists" else None, exc.message)


class ImportForm(forms.Form):
    """A bulk upload: a ZIP of per-person folders (a folder is sent by the page's script, file by file)."""

    archive = forms.FileField(label="ZIP file", required=False, widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
                              help_text="One folder per person, named after them (underscores become spaces), holding their photos.")
    watchlist = forms.CharField(required=False, max_length=200, label="Add everyone to the watchlist",
                                help_text="Optional; created if it does not exist.")
    on_multiple_faces = forms.ChoiceField(
        label="A photo with several faces", initial="largest",
        choices=[("largest", "enrol its largest face"), ("skip", "skip the photo (reported)")],
    )
