from django.urls import path

from openiop.scheduling import views_enrollment as views

urlpatterns = [
    path("patients/<int:patient_id>/admit/", views.admit_view, name="enrollment-admit"),
    path(
        "patients/<int:patient_id>/enrollments/<int:enrollment_id>/discharge/",
        views.discharge_view,
        name="enrollment-discharge",
    ),
    path(
        "patients/<int:patient_id>/enrollments/<int:enrollment_id>/transfer/",
        views.transfer_view,
        name="enrollment-transfer",
    ),
    path(
        "patients/<int:patient_id>/enrollments/<int:enrollment_id>/individual/",
        views.individual_schedule_view,
        name="individual-schedule",
    ),
    path(
        "patients/<int:patient_id>/individual/new/",
        views.individual_book_view,
        name="individual-book",
    ),
    path("sessions/<int:session_id>/drop-in/", views.drop_in_view, name="drop-in-book"),
]
