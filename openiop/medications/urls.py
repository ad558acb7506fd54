"""URLs of a patient's medication orders and the doses given in clinic."""

from django.urls import path

from openiop.medications import views

urlpatterns = [
    path(
        "patients/<int:patient_id>/medications/",
        views.medications_view,
        name="patient-medications",
    ),
    path(
        "patients/<int:patient_id>/medications/order/",
        views.order_view,
        name="medication-order",
    ),
    path(
        "patients/<int:patient_id>/medications/<int:order_id>/stop/",
        views.stop_view,
        name="medication-stop",
    ),
    path(
        "patients/<int:patient_id>/medications/<int:order_id>/dose/",
        views.administer_view,
        name="medication-administer",
    ),
]
