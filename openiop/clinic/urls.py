from django.urls import path

from openiop.clinic import views

urlpatterns = [
    path("patients/<int:patient_id>/", views.patient_chart, name="patient-chart"),
    path("census/", views.census, name="census"),
    path("at-risk/", views.at_risk, name="at-risk"),
]
