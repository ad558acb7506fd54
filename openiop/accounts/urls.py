from django.urls import path

from openiop.accounts import views

urlpatterns = [
    path("", views.home_view, name="home"),
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.verify_view, name="login-verify"),
    path("logout/", views.logout_view, name="logout"),
    path("site/switch/", views.switch_site_view, name="site-switch"),
    path("account/", views.profile_view, name="profile"),
    path("account/mfa/setup/", views.mfa_setup_view, name="mfa-setup"),
    path("account/mfa/recovery-codes/", views.recovery_codes_view, name="recovery-codes"),
    path("account/tokens/", views.token_create_view, name="token-create"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke_view, name="token-revoke"),
    path("staff/", views.staff_list_view, name="staff-list"),
    path("staff/add/", views.staff_create_view, name="staff-create"),
    path("staff/<int:user_id>/disable/", views.staff_disable_view, name="staff-disable"),
    path("staff/<int:user_id>/enable/", views.staff_enable_view, name="staff-enable"),
    path(
        "staff/<int:user_id>/supervision/",
        views.staff_supervision_view,
        name="staff-supervision",
    ),
]
