from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from enrollment.views import add_user
from faceapp.views import health_view, home_view
from recognition.admin_views import models_page
from recognition.views import recognise_user
from videostreams.urls import api_router as video_api

api_v1 = [
    path("health", health_view, name="health"),
    path("recognise_user", recognise_user, name="recognise_user"),
    path("add_user", add_user, name="add_user"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    *video_api.urls,
]

urlpatterns = [
    path("", home_view, name="home"),
    path("api/v1/", include(api_v1)),
    path("admin/models/", admin.site.admin_view(models_page), name="admin-models"),
    path("admin/", admin.site.urls),
    path("videostreams/", include("videostreams.urls")),
]

handler404 = "faceapp.api.handler404"
handler500 = "faceapp.api.handler500"
