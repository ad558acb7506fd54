from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "openiop.alerts"
    label = "alerts"
    verbose_name = "Alerts"
