from django.urls import path

from openiop.scheduling import views

urlpatterns = [
    path("today/", views.today_view, name="today"),
    path("sessions/<int:session_id>/", views.session_roster_view, name="session-roster"),
    path(
        "sessions/<int:session_id>/attendance/",
        views.session_attendance_view,
        name="session-attendance",
    ),
    path(
        "sessions/<int:session_id>/attendance/everyone-present/",
        views.session_mark_present_view,
        name="session-mark-present",
    ),
    path("sessions/<int:session_id>/cancel/", views.session_cancel_view, name="session-cancel"),
]
