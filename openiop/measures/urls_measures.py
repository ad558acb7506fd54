"""URLs of the questionnaire screens (views_measures)."""

from django.urls import path

from openiop.measures import views_measures as views

urlpatterns = [
    path("patients/<int:patient_id>/measures/new/", views.measure_new, name="measure-new"),
    path("patients/<int:patient_id>/measures/", views.patient_measures, name="patient-measures"),
    path("measures/due/", views.measures_due, name="measures-due"),
    path("measures/<int:measure_id>/", views.measure_detail, name="measure-detail"),
    path("measures/<int:measure_id>/strike/", views.measure_strike, name="measure-strike"),
    path(
        "setup/programs/<int:program_id>/measures/",
        views.setup_measures,
        name="setup-measures",
    ),
    path(
        "setup/programs/<int:program_id>/measures/schedules/",
        views.setup_measure_schedule_add,
        name="setup-measure-schedule-add",
    ),
    path(
        "setup/measure-schedules/<int:schedule_id>/",
        views.setup_measure_schedule_edit,
        name="setup-measure-schedule-edit",
    ),
    path(
        "setup/measure-schedules/<int:schedule_id>/remove/",
        views.setup_measure_schedule_remove,
        name="setup-measure-schedule-remove",
    ),
]
