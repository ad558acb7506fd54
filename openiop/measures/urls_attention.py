"""URLs of the attention list (mine and the site's), its actions, and the old ``/alerts/``."""

from django.urls import path

from openiop.measures import views_attention as views

urlpatterns = [
    path("attention/", views.attention_view, name="attention"),
    path("attention/site/", views.attention_site_view, name="attention-site"),
    path("alerts/", views.alerts_redirect_view, name="alerts"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        views.alert_acknowledge_view,
        name="alert-acknowledge",
    ),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve_view, name="alert-resolve"),
]
