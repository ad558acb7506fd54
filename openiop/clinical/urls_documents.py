"""Issuing documents from a patient's chart, and the site's disclosure log."""

from django.urls import path

from openiop.clinical import views_documents as views

urlpatterns = [
    path(
        "patients/<int:patient_id>/documents/new/",
        views.issue_clinical_document,
        name="document-issue",
    ),
    path(
        "patients/<int:patient_id>/documents/attendance-letter/",
        views.issue_attendance_letter,
        name="document-attendance-letter",
    ),
    path("disclosures/", views.disclosure_log, name="disclosure-log"),
    path("disclosures/export/", views.disclosure_log_export, name="disclosure-log-export"),
]
