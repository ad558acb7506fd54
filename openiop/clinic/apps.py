from django.apps import AppConfig


class ClinicConfig(AppConfig):
    """Screens that bring the lower apps together: the patient chart, census, at-risk list."""

    name = "openiop.clinic"
    label = "clinic"
    verbose_name = "Clinic overview"
