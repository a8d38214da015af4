"""API keys in the admin: made here or by `manage.py create_api_key`; the raw key is shown once, after saving."""
from django.contrib import admin, messages
from django.utils import timezone

from .models import ApiKey


@admin.action(description="Revoke the selected keys")
def revoke_keys(modeladmin, request, queryset):
    count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    messages.success(request, f"Revoked {count} key(s).")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "scope", "rate_limit", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at")
    fields = ("name", "scope", "rate_limit", "expires_at", "revoked_at", "prefix", "created_by", "created_at", "last_used_at")
    actions = [revoke_keys]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        obj.created_by = request.user
        raw = obj.set_new_secret()
        super().save_model(request, obj, form, change)
        messages.warning(request, f"The new API key is {raw} — copy it now: it is stored only as a hash and is not shown again.")
