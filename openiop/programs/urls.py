from django.urls import path

from openiop.programs import views

# Mounted at /setup/ (openiop/urls.py).
urlpatterns = [
    path("", views.setup_home_view, name="setup-home"),
    path("levels/", views.level_list_view, name="setup-levels"),
    path("levels/<int:level_id>/edit/", views.level_edit_view, name="setup-level-edit"),
    path("programs/new/", views.program_create_view, name="setup-program-create"),
    path("programs/<int:program_id>/", views.program_detail_view, name="setup-program-detail"),
    path("programs/<int:program_id>/edit/", views.program_edit_view, name="setup-program-edit"),
    path(
        "programs/<int:program_id>/active/",
        views.program_active_view,
        name="setup-program-active",
    ),
    path(
        "programs/<int:program_id>/tracks/new/",
        views.track_create_view,
        name="setup-track-create",
    ),
    path("tracks/<int:track_id>/edit/", views.track_edit_view, name="setup-track-edit"),
    path("tracks/<int:track_id>/active/", views.track_active_view, name="setup-track-active"),
    path("groups/new/", views.series_create_view, name="setup-series-create"),
    path("groups/<int:series_id>/edit/", views.series_edit_view, name="setup-series-edit"),
    path("groups/<int:series_id>/end/", views.series_end_view, name="setup-series-end"),
    path("group-types/", views.group_type_list_view, name="setup-group-types"),
    path("group-types/new/", views.group_type_create_view, name="setup-group-type-create"),
    path(
        "group-types/<int:group_type_id>/edit/",
        views.group_type_edit_view,
        name="setup-group-type-edit",
    ),
    path("rooms/", views.room_list_view, name="setup-rooms"),
    path("rooms/new/", views.room_create_view, name="setup-room-create"),
    path("rooms/<int:room_id>/edit/", views.room_edit_view, name="setup-room-edit"),
]
