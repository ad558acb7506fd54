from django.urls import path

from openiop.scheduling import views, views_curriculum

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
    path(
        "sessions/<int:session_id>/module/",
        views_curriculum.session_module_view,
        name="session-module",
    ),
    path("setup/curriculum/", views_curriculum.curriculum_list_view, name="setup-curriculum"),
    path(
        "setup/curriculum/new/",
        views_curriculum.curriculum_create_view,
        name="setup-curriculum-create",
    ),
    path(
        "setup/curriculum/<int:module_id>/edit/",
        views_curriculum.curriculum_edit_view,
        name="setup-curriculum-edit",
    ),
]
