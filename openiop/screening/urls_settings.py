"""URLs of screening settings (under Program setup) and the week's screens and injections.

The alerts list moved to the attention list (``openiop.measures.urls_attention``)."""

from django.urls import path

from openiop.screening import views_settings as views

urlpatterns = [
    path("setup/screening/", views.settings_view, name="screening-settings"),
    path(
        "setup/screening/programs/<int:program_id>/phases/new/",
        views.phase_create_view,
        name="screening-phase-create",
    ),
    path(
        "setup/screening/programs/<int:program_id>/phases/adopt-defaults/",
        views.phases_adopt_view,
        name="screening-phases-adopt",
    ),
    path(
        "setup/screening/phases/<int:phase_id>/edit/",
        views.phase_edit_view,
        name="screening-phase-edit",
    ),
    path(
        "setup/screening/phases/<int:phase_id>/delete/",
        views.phase_delete_view,
        name="screening-phase-delete",
    ),
    path("setup/screening/panels/new/", views.panel_create_view, name="screening-panel-create"),
    path(
        "setup/screening/panels/<int:panel_id>/",
        views.panel_edit_view,
        name="screening-panel-edit",
    ),
    path("setup/screening/validity/", views.validity_view, name="screening-validity"),
    path("screens/week/", views.week_view, name="screens-week"),
]
