from __future__ import annotations

from django.urls import path

from openiop.measures import views_outcomes

urlpatterns = [
    path("outcomes/", views_outcomes.outcomes_view, name="outcomes"),
    path("outcomes/export.csv", views_outcomes.outcomes_csv_view, name="outcomes-csv"),
]
