"""URLs of the day's screens: who is called today, the day's random selection, for cause."""

from django.urls import path

from openiop.screening import views_day

urlpatterns = [
    path("screens/today/", views_day.screens_today_view, name="screens-today"),
    path("screens/today/select/", views_day.screens_select_view, name="screens-select"),
    path("screens/today/for-cause/", views_day.screens_for_cause_view, name="screens-for-cause"),
]
