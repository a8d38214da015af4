"""Watchlists in the admin (the operator UI picks from them); changes go through enrollment.people, so they are audited."""
from django.contrib import admin

from faceapp.audit.log import Actor

from . import people
from .models import Watchlist


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "people_count", "created_at")
    search_fields = ("name",)
    fields = ("name", "description")

    def get_queryset(self, request):
        return people.watchlists()

    @admin.display(description="people", ordering="people_count")
    def people_count(self, obj):
        return obj.people_count

    def save_model(self, request, obj, form, change):
        actor = Actor.from_request(request)
        if change:
            people.update_watchlist(obj, actor=actor, name=obj.name, description=obj.description)
        else:
            created = people.create_watchlist(name=obj.name, description=obj.description, actor=actor)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        people.delete_watchlist(obj, actor=Actor.from_request(request))

    def delete_queryset(self, request, queryset):
        for watchlist in queryset:
            self.delete_model(request, watchlist)
