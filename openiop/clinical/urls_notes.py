"""URLs of individual notes, note pages, a patient's notes and the documentation worklist."""

from __future__ import annotations

from django.urls import path

from openiop.clinical import views_notes

urlpatterns = [
    path("documentation/", views_notes.documentation, name="documentation"),
    path(
        "sessions/<int:session_id>/individual-note/",
        views_notes.individual_note_start,
        name="individual-note-start",
    ),
    path("notes/<int:note_id>/", views_notes.note_detail, name="note-detail"),
    path("notes/<int:note_id>/edit/", views_notes.note_edit, name="note-edit"),
    path("notes/<int:note_id>/sign/", views_notes.note_sign, name="note-sign"),
    path("notes/<int:note_id>/addenda/", views_notes.note_addendum, name="note-addendum"),
    path("notes/<int:note_id>/cosign/", views_notes.note_cosign, name="note-cosign"),
    path("patients/<int:patient_id>/notes/", views_notes.patient_notes, name="patient-notes"),
]
