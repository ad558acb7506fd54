from django.urls import path

from openiop.clinic import views

urlpatterns = [
    path("patients/<int:patient_id>/", views.patient_chart, name="patient-chart"),
]
