from django.urls import path

from openiop.patients import views

urlpatterns = [
    path("", views.patient_list_view, name="patient-list"),
    path("new/", views.patient_create_view, name="patient-create"),
    path("<int:patient_id>/edit/", views.patient_edit_view, name="patient-edit"),
    path("<int:patient_id>/deactivate/", views.patient_deactivate_view, name="patient-deactivate"),
    path("<int:patient_id>/reactivate/", views.patient_reactivate_view, name="patient-reactivate"),
]
