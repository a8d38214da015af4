"""Forms of the operator pages for cameras, rules and the events list."""
from __future__ import annotations

import datetime as dt

from django import forms

from enrollment.models import Watchlist
from videostreams.forms import CameraSecretsMixin, RuleSecretsForm
from videostreams.models import EMOTION_CHOICES, GENDER_CHOICES, Camera, Rule

from .forms import PRESET_CHOICES


class RoiField(forms.CharField):
    """The region of interest as 'x1, y1, x2, y2' (fractions of the frame); empty: the whole frame."""

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(f"{v:g}" for v in value)
        return value

    def to_python(self, value):
        text = (value or "").strip().strip("[]")
        if not text:
            return []
        try:
            numbers = [float(part) for part in text.replace(";", ",").split(",")]
        except ValueError:
            raise forms.ValidationError("Give four numbers between 0 and 1: x1, y1, x2, y2.") from None
        return numbers


def _default(field: str):
    return Camera._meta.get_field(field).default


class CameraForm(CameraSecretsMixin, forms.ModelForm):
    roi = RoiField(required=False, label="Region of interest",
                   help_text="x1, y1, x2, y2 as fractions of the frame (e.g. 0, 0.2, 1, 1); empty: the whole frame.")
    preset = forms.ChoiceField(choices=PRESET_CHOICES, required=False, label="Decision preset")
    # The API's bounds (videostreams.serializers.CameraSerializer), with the model's defaults.
    sample_fps = forms.FloatField(min_value=0.1, max_value=60, label="Frames analysed per second", initial=_default("sample_fps"))
    min_face_size = forms.IntegerField(min_value=12, max_value=2000, label="Smallest face (pixels)", initial=_default("min_face_size"))
    min_quality = forms.FloatField(min_value=0, max_value=1, label="Lowest quality kept (0–1)", initial=_default("min_quality"))
    match_threshold = forms.FloatField(min_value=-1, max_value=1, required=False, label="Raw threshold (experts)",
                                       help_text="Overrides the preset; leave empty.")

    class Meta:
        model = Camera
        fields = ["name", "source", "enabled", "mode", "sample_fps", "min_face_size", "min_quality", "roi", "preset",
                  "match_threshold", "watchlists"]
        widgets = {"watchlists": forms.CheckboxSelectMultiple, "source": forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"})}


class RuleForm(RuleSecretsForm):
    class Meta:
        model = Rule
        fields = ["name", "enabled", "trigger", "cameras", "watchlists", "webhook_url", "webhook_secret", "create_pending_enrollment",
                  "unknown_min_sightings", "unknown_min_days", "hours_start", "hours_end"]
        # webhook_secret's widget is RuleSecretsForm's (write-only: never rendered back).
        widgets = {"cameras": forms.CheckboxSelectMultiple, "watchlists": forms.CheckboxSelectMultiple,
                   "hours_start": forms.TimeInput(attrs={"type": "time"}), "hours_end": forms.TimeInput(attrs={"type": "time"})}
        labels = {"create_pending_enrollment": "Hold unknown faces as pending enrolments",
                  "unknown_min_sightings": "Unknown group seen at least this many times",
                  "unknown_min_days": "Unknown group seen on at least this many days",
                  "hours_start": "Opening hours from", "hours_end": "Opening hours until"}

    def clean(self):
        data = super().clean()
        start, end = data.get("hours_start"), data.get("hours_end")
        if (start is None) != (end is None) or (start is not None and start == end):
            self.add_error("hours_end", "Give both ends of the opening hours (different times), or neither.")
        if (data.get("unknown_min_sightings") or data.get("unknown_min_days")) and data.get("trigger") != Rule.Trigger.UNKNOWN:
            self.add_error("trigger", "Conditions on unknown groups need the trigger 'An unknown face'.")
        return data


class EventFilter(forms.Form):
    camera = forms.ModelChoiceField(queryset=Camera.objects.order_by("name"), required=False, empty_label="any camera")
    person = forms.CharField(required=False, max_length=200, label="Person", help_text="Part of the name.")
    watchlist = forms.ModelChoiceField(queryset=Watchlist.objects.order_by("name"), required=False, empty_label="any watchlist")
    since = forms.DateTimeField(required=False, label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
    until = forms.DateTimeField(required=False, label="To", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
    unknown = forms.BooleanField(required=False, label="Unknown faces only")
    # Estimated face attributes (docs/attributes.md): events whose attribute was estimated and matches.
    gender = forms.ChoiceField(required=False, choices=[("", "any gender"), *GENDER_CHOICES])
    age_min = forms.FloatField(required=False, min_value=0, max_value=150, label="Age from")
    age_max = forms.FloatField(required=False, min_value=0, max_value=150, label="Age to")
    emotion = forms.ChoiceField(required=False, choices=[("", "any emotion"), *EMOTION_CHOICES])

    def filters(self, zone: dt.tzinfo) -> dict:
        """The events' filters; times typed in the browser are in its zone."""
        data = self.cleaned_data
        result = {"camera": data["camera"].id if data.get("camera") else None,
                  "watchlist": data["watchlist"].id if data.get("watchlist") else None,
                  "matched": False if data.get("unknown") else None, "person_name": (data.get("person") or "").strip(),
                  "gender": data.get("gender") or None, "emotion": data.get("emotion") or None,
                  "age_min": data.get("age_min"), "age_max": data.get("age_max")}
        for key in ("since", "until"):
            value = data.get(key)
            result[key] = value.replace(tzinfo=None).replace(tzinfo=zone) if value else None
        return result
