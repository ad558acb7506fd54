"""URLs of treatment plans and relapse-prevention plans."""

from __future__ import annotations

from django.urls import path

from openiop.clinical import views_plans

urlpatterns = [
    path("patients/<int:patient_id>/plan/", views_plans.plan_detail_view, name="plan-detail"),
    path("patients/<int:patient_id>/plan/start/", views_plans.plan_start_view, name="plan-start"),
    path(
        "patients/<int:patient_id>/plan/review/",
        views_plans.plan_review_view,
        name="plan-review",
    ),
    path("patients/<int:patient_id>/plan/draft/", views_plans.plan_draft_view, name="plan-draft"),
    path(
        "patients/<int:patient_id>/plan/draft/sign/",
        views_plans.plan_sign_view,
        name="plan-sign",
    ),
    path(
        "patients/<int:patient_id>/plan/draft/<str:kind>/add/",
        views_plans.plan_item_add_view,
        name="plan-item-add",
    ),
    path(
        "patients/<int:patient_id>/plan/draft/<str:kind>/<int:item_id>/",
        views_plans.plan_item_edit_view,
        name="plan-item-edit",
    ),
    path(
        "patients/<int:patient_id>/plan/draft/<str:kind>/<int:item_id>/remove/",
        views_plans.plan_item_remove_view,
        name="plan-item-remove",
    ),
    path(
        "patients/<int:patient_id>/plan/versions/<int:plan_id>/",
        views_plans.plan_version_view,
        name="plan-version",
    ),
    path(
        "patients/<int:patient_id>/plan/versions/<int:plan_id>/print/",
        views_plans.plan_print_view,
        name="plan-print",
    ),
    path(
        "patients/<int:patient_id>/plan/versions/<int:plan_id>/acknowledge/",
        views_plans.plan_acknowledge_view,
        name="plan-acknowledge",
    ),
    path(
        "patients/<int:patient_id>/relapse-prevention/",
        views_plans.rpp_detail_view,
        name="rpp-detail",
    ),
    path(
        "patients/<int:patient_id>/relapse-prevention/edit/",
        views_plans.rpp_edit_view,
        name="rpp-edit",
    ),
    path(
        "patients/<int:patient_id>/relapse-prevention/v<int:number>/",
        views_plans.rpp_version_view,
        name="rpp-version",
    ),
    path(
        "patients/<int:patient_id>/relapse-prevention/v<int:number>/print/",
        views_plans.rpp_print_view,
        name="rpp-print",
    ),
]
