from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from enrollment import identity_views, search_views, sighting_views
from enrollment import views as enrollment
from enrollment.admin_views import models_page
from faceapp.limits import body_limit, images_limit
from faceapp.metrics.views import metrics_view
from faceapp.views import health_live_view, health_view, home_view
from recognition import views as recognition
from videostreams.urls import api_router as video_api


@extend_schema_view(get=extend_schema(exclude=True))
class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema (not listed in itself)."""


api_v1 = [
    path("health", health_view, name="health"),
    path("health/live", health_live_view, name="health-live"),
    path("health/ready", health_view, name="health-ready"),
    # The seed API (open without a key while FACEAPP_SEED_API_OPEN is on).
    # (Endpoints taking one or two images refuse a larger body by its Content-Length, unread: faceapp/limits.py.)
    path("recognise_user", body_limit(images_limit(1))(search_views.recognise_user), name="recognise_user"),
    path("add_user", body_limit(images_limit(1))(enrollment.add_user), name="add_user"),
    # The integrator API.
    path("detect", body_limit(images_limit(1))(recognition.detect), name="detect"),
    path("verify", body_limit(images_limit(2))(search_views.verify), name="verify"),
    path("identify", body_limit(images_limit(1))(search_views.identify), name="identify"),
    path("people", body_limit(images_limit(1))(enrollment.PeopleView.as_view()), name="people"),
    path("people/<uuid:person_id>", enrollment.PersonView.as_view(), name="person"),
    path("people/<uuid:person_id>/faces", enrollment.FacesView.as_view(), name="person-faces"),
    path("people/<uuid:person_id>/faces/<uuid:face_id>", enrollment.FaceView.as_view(), name="person-face"),
    path("people/<uuid:person_id>/faces/<uuid:face_id>/thumbnail", enrollment.face_thumbnail, name="person-face-thumbnail"),
    path("people/<uuid:person_id>/faces/<uuid:face_id>/crop", enrollment.face_crop, name="person-face-crop"),
    path("people/<uuid:person_id>/faces/<uuid:face_id>/move", identity_views.move_face, name="person-face-move"),
    path("people/<uuid:person_id>/merge", identity_views.merge, name="person-merge"),
    path("people/<uuid:person_id>/sightings", sighting_views.person_sightings, name="person-sightings"),
    path("people/<uuid:person_id>/split", identity_views.split, name="person-split"),
    path("watchlists", enrollment.WatchlistsView.as_view(), name="watchlists"),
    path("watchlists/<uuid:watchlist_id>", enrollment.WatchlistView.as_view(), name="watchlist"),
    # Sightings, the search of the past, unknown groups and corrections (docs/unknowns.md).
    path("sightings/search", sighting_views.search, name="sightings-search"),
    path("sightings/<uuid:sighting_id>", sighting_views.sighting_detail, name="sighting"),
    path("sightings/<uuid:sighting_id>/crop", sighting_views.sighting_crop, name="sighting-crop"),
    path("sightings/<uuid:sighting_id>/not-person", sighting_views.sighting_not_person, name="sighting-not-person"),
    path("sightings/<uuid:sighting_id>/not-group", sighting_views.sighting_not_group, name="sighting-not-group"),
    path("corrections/<int:entry_id>/undo", sighting_views.undo_correction, name="correction-undo"),
    path("unknown-groups", sighting_views.groups, name="unknown-groups"),
    path("unknown-groups/<str:group>", sighting_views.group_detail, name="unknown-group"),
    path("unknown-groups/<str:group>/sightings", sighting_views.group_sightings, name="unknown-group-sightings"),
    path("unknown-groups/<str:group>/enrol", sighting_views.group_enrol, name="unknown-group-enrol"),
    path("unknown-groups/<str:group>/add-to-person", sighting_views.group_add_to_person, name="unknown-group-add-to-person"),
    path("unknown-groups/<str:group>/not-person", sighting_views.group_not_person, name="unknown-group-not-person"),
    path("unknown-groups/<str:group>/merge", sighting_views.group_merge, name="unknown-group-merge"),
    # Old addresses of the schema and the docs.
    path("schema", SchemaView.as_view(), name="schema-v1"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs-v1"),
    # Cameras, events, rules (videostreams).
    *video_api.urls,
]

urlpatterns = [
    path("", home_view, name="home"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/models/", admin.site.admin_view(models_page), name="admin-models"),
    path("admin/", admin.site.urls),
    # The old staff events page: the operator UI's events page replaced it.
    path("videostreams/events/", RedirectView.as_view(pattern_name="ui:events", query_string=True), name="events-feed"),
    path("videostreams/", include("videostreams.urls")),
    # The operator web UI (staff only): a login of its own, then /ui/.
    path("accounts/login/", auth_views.LoginView.as_view(
        template_name="ui/login.html", authentication_form=AdminAuthenticationForm, redirect_authenticated_user=True,
    ), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("ui/", include("faceapp.ui.urls")),
]

handler404 = "faceapp.api.handler404"
handler500 = "faceapp.api.handler500"
