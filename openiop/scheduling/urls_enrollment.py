from django.urls import path  # noqa: F401 - views are added by the app's screens

urlpatterns: list = []
