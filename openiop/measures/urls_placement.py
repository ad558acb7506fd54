"""URLs of placement: new assessment, detail and decision, a patient's history, and a
program's rule-table editor under Program setup."""

from django.urls import path

from openiop.measures import views_placement as views

urlpatterns = [
    path(
        "patients/<int:patient_id>/placement/new/", views.placement_new_view, name="placement-new"
    ),
    path(
        "patients/<int:patient_id>/placements/",
        views.patient_placements_view,
        name="patient-placements",
    ),
    path("placements/<int:placement_id>/", views.placement_detail_view, name="placement-detail"),
    path(
        "placements/<int:placement_id>/decision/",
        views.placement_decide_view,
        name="placement-decide",
    ),
    path(
        "setup/programs/<int:program_id>/placement-rules/",
        views.placement_rules_view,
        name="setup-placement-rules",
    ),
    path(
        "setup/programs/<int:program_id>/placement-rules/reset/",
        views.placement_rules_reset_view,
        name="setup-placement-rules-reset",
    ),
]
