"""The operator web UI under /ui/ (login at /accounts/login/)."""
from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "ui"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="ui:people"), name="index"),
    path("people/", views.people_list, name="people"),
    path("people/<uuid:person_id>/", views.person_detail, name="person"),
    path("people/<uuid:person_id>/delete/", views.person_delete, name="person-delete"),
    path("people/<uuid:person_id>/faces/<uuid:face_id>/delete/", views.face_delete, name="face-delete"),
    path("faces/<uuid:face_id>/thumbnail.jpg", views.face_thumbnail, name="face-thumbnail"),
    path("enrol/", views.enrol, name="enrol"),
    path("who/", views.who, name="who"),
    path("pending/", views.pending_list, name="pending"),
    path("pending/<str:req_id>/discard/", views.pending_discard, name="pending-discard"),
    path("pending/<str:req_id>/crop.jpg", views.pending_crop, name="pending-crop"),
]
