"""URLs of screens: the screen page, recording collection and results, marking a screen not
collected, review, confirmation and the lab CSV import."""

from django.urls import path

from openiop.screening import views_screens as views

urlpatterns = [
    path("screens/<int:screen_id>/", views.screen_detail, name="screen-detail"),
    path("screens/<int:screen_id>/record/", views.screen_record, name="screen-record"),
    path(
        "screens/<int:screen_id>/not-collected/",
        views.screen_not_collected,
        name="screen-not-collected",
    ),
    path("screens/<int:screen_id>/review/", views.screen_review, name="screen-review"),
    path("screens/<int:screen_id>/confirmation/", views.screen_confirm, name="screen-confirm"),
    path("screens/import/", views.screen_import, name="screen-import"),
    path(
        "patients/<int:patient_id>/screens/new/",
        views.patient_screen_new,
        name="patient-screen-new",
    ),
]
