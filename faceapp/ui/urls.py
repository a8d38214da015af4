"""The operator web UI under /ui/ (login at /accounts/login/). Names start with their menu entry (see nav_section)."""
from django.conf import settings
from django.urls import path

from faceapp.limits import body_limit

from .views import enrol, identity, imports, people, timeline, unknowns, video, watchlists, who

app_name = "ui"
urlpatterns = [
    path("", video.dashboard, name="dashboard"),
    path("dashboard/live/", video.dashboard_live, name="dashboard-live"),
    # People and their faces
    path("people/", people.people_list, name="people"),
    path("people/<uuid:person_id>/", people.person_detail, name="person"),
    path("people/<uuid:person_id>/timeline/", timeline.person_timeline, name="person-timeline"),
    path("people/<uuid:person_id>/add/", people.person_add_faces, name="person-add"),
    path("people/<uuid:person_id>/delete/", people.person_delete, name="person-delete"),
    path("people/<uuid:person_id>/faces/<uuid:face_id>/delete/", people.face_delete, name="face-delete"),
    path("people/<uuid:person_id>/merge/", identity.person_merge, name="person-merge"),
    path("people/<uuid:person_id>/faces/", identity.person_faces, name="person-faces"),
    path("corrections/<int:entry_id>/undo/", identity.correction_undo, name="correction-undo"),
    path("faces/<uuid:face_id>/thumbnail.jpg", people.face_thumbnail, name="face-thumbnail"),
    # Enrol, who is this, pending enrolments
    path("enrol/", enrol.enrol, name="enrol"),
    path("who/", who.who, name="who"),
    path("who/add/<uuid:person_id>/", who.who_add, name="who-add"),
    path("pending/", enrol.pending_list, name="pending"),
    path("pending/<str:req_id>/discard/", enrol.pending_discard, name="pending-discard"),
    path("pending/<str:req_id>/keep/", enrol.pending_keep, name="pending-keep"),
    path("pending/<str:req_id>/crop.jpg", enrol.pending_crop, name="pending-crop"),
    # Events
    path("events/", video.event_list, name="events"),
    path("events/live/", video.event_list_live, name="events-live"),
    path("events/<uuid:event_id>/", video.event_detail, name="event"),
    path("events/<uuid:event_id>/not-person/", video.event_not_person, name="event-not-person"),
    path("events/<uuid:event_id>/<str:kind>.jpg", video.event_image, name="event-image"),
    # Unknown groups, corrections, the search of the past (docs/unknowns.md)
    path("unknowns/", unknowns.unknown_list, name="unknowns"),
    path("unknowns/<int:group_id>/", unknowns.unknown_detail, name="unknown"),
    path("unknowns/<int:group_id>/enrol/", unknowns.unknown_enrol, name="unknown-enrol"),
    path("unknowns/<int:group_id>/add/", unknowns.unknown_add, name="unknown-add"),
    path("unknowns/<int:group_id>/merge/", unknowns.unknown_merge, name="unknown-merge"),
    path("unknowns/<int:group_id>/timeline/", timeline.group_timeline, name="unknown-timeline"),
    path("unknowns/<int:group_id>/not-person/", unknowns.unknown_not_person, name="unknown-not-person"),
    path("unknowns/<int:group_id>/delete/", unknowns.unknown_delete, name="unknown-delete"),
    path("sightings/search/", unknowns.sightings_search, name="sightings-search"),
    path("sightings/<uuid:sighting_id>/crop.jpg", unknowns.sighting_crop, name="sighting-crop"),
    path("sightings/<uuid:sighting_id>/not-person/", timeline.sighting_not_person, name="sighting-not-person"),
    path("sightings/<uuid:sighting_id>/not-group/", unknowns.sighting_not_group, name="sighting-not-group"),
    # Cameras
    path("cameras/", video.camera_list, name="cameras"),
    path("cameras/live/", video.camera_list_live, name="cameras-live"),
    path("cameras/new/", video.camera_edit, name="camera-new"),
    path("cameras/<uuid:camera_id>/", video.camera_edit, name="camera"),
    path("cameras/<uuid:camera_id>/snapshot.jpg", video.camera_snapshot, name="camera-snapshot"),
    path("cameras/<uuid:camera_id>/delete/", video.camera_delete, name="camera-delete"),
    # Watchlists
    path("watchlists/", watchlists.watchlist_list, name="watchlists"),
    path("watchlists/<uuid:watchlist_id>/", watchlists.watchlist_detail, name="watchlist"),
    path("watchlists/<uuid:watchlist_id>/members/", watchlists.watchlist_members, name="watchlist-members"),
    path("watchlists/<uuid:watchlist_id>/delete/", watchlists.watchlist_delete, name="watchlist-delete"),
    # Rules
    path("rules/", video.rule_list, name="rules"),
    path("rules/new/", video.rule_edit, name="rule-new"),
    path("rules/<uuid:rule_id>/", video.rule_edit, name="rule"),
    path("rules/<uuid:rule_id>/delete/", video.rule_delete, name="rule-delete"),
    # Bulk upload
    # A ZIP, or a folder's files, may be as large as the bulk import allows (faceapp/limits.py).
    path("import/", body_limit(lambda: settings.FACEAPP_IMPORT_MAX_BYTES)(imports.import_list), name="imports"),
    path("import/folder/", imports.import_new_folder, name="import-folder"),
    path("import/<uuid:job_id>/", imports.import_detail, name="import"),
    path("import/<uuid:job_id>/files/", body_limit(lambda: settings.FACEAPP_IMPORT_MAX_BYTES)(imports.import_files),
         name="import-files"),
    path("import/<uuid:job_id>/start/", imports.import_start, name="import-start"),
    path("import/<uuid:job_id>/status.json", imports.import_status, name="import-status"),
    path("import/<uuid:job_id>/report.csv", imports.import_report, name="import-report"),
    path("import/<uuid:job_id>/<str:action>/", imports.import_control, name="import-control"),
]
