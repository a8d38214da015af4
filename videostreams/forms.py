"""Form bases that keep camera passwords and webhook secrets write-only in every form (the admin, the operator UI).

A stored password is never rendered back into a page: a source URL is shown masked (`rtsp://user:***@host/...`)
and, sent back unchanged, keeps the stored password; a webhook secret field is always empty, and left empty keeps
the stored secret (ticking "remove the secret" clears it). Both still pass the outbound policy on save (the
models' `clean`).
"""
from __future__ import annotations

from django import forms

from . import outbound


class MaskedUrlsMixin:
    """For a ModelForm: `masked_url_fields` are shown without their password and unmasked on save."""

    masked_url_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.masked_url_fields:
            if self.instance.pk and name in self.fields:
                self.initial[name] = outbound.redact(getattr(self.instance, name))

    def unmask(self, name: str, value: str) -> str:
        stored = getattr(self.instance, name) if self.instance.pk else ""
        return outbound.unredact((value or "").strip(), stored or "")


class CameraSecretsMixin(MaskedUrlsMixin):
    masked_url_fields = ("source",)

    def clean_source(self):
        value = self.unmask("source", self.cleaned_data.get("source"))
        if not value:
            raise forms.ValidationError("Give an RTSP/HTTP(S) URL, a video file path or a device index.")
        return value


class RuleSecretsForm(MaskedUrlsMixin, forms.ModelForm):
    """The base of every form of a rule (a ModelForm without a model of its own: subclasses give Meta)."""

    masked_url_fields = ("webhook_url",)
    remove_webhook_secret = forms.BooleanField(required=False, label="Remove the webhook secret")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "webhook_secret" in self.fields:
            self.fields["webhook_secret"].widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
            if self.instance.pk and self.instance.webhook_secret:
                self.fields["webhook_secret"].help_text = "A secret is set (never shown); leave empty to keep it, type a new one to replace it."

    def clean_webhook_url(self):
        return self.unmask("webhook_url", self.cleaned_data.get("webhook_url"))

    def clean_webhook_secret(self):
        value = self.cleaned_data.get("webhook_secret") or ""
        if self.fields["remove_webhook_secret"].widget.value_from_datadict(self.data, self.files, self.add_prefix("remove_webhook_secret")):
            return ""
        if not value and self.instance.pk:
            return self.instance.webhook_secret  # empty means unchanged: the stored secret is never sent to the page
        return value
