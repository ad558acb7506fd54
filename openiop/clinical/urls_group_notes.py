"""URLs of the group-note page (``views_group_notes``)."""

from django.urls import path

from openiop.clinical import views_group_notes as views

urlpatterns = [
    path("sessions/<int:session_id>/group-note/", views.group_note_view, name="group-note"),
    path(
        "sessions/<int:session_id>/group-note/start/",
        views.group_note_start_view,
        name="group-note-start",
    ),
    path(
        "sessions/<int:session_id>/group-note/shared/",
        views.group_note_shared_view,
        name="group-note-shared",
    ),
    path(
        "sessions/<int:session_id>/group-note/entries/<int:entry_id>/",
        views.group_note_entry_view,
        name="group-note-entry",
    ),
    path(
        "sessions/<int:session_id>/group-note/entries/<int:entry_id>/save/",
        views.group_note_entry_save_view,
        name="group-note-entry-save",
    ),
    path(
        "sessions/<int:session_id>/group-note/sign/",
        views.group_note_sign_view,
        name="group-note-sign",
    ),
]
