from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from openiop.accounts import mfa, services
from openiop.accounts.access import requires
from openiop.accounts.forms import (
    EnrolForm,
    SecondFactorForm,
    SignInForm,
    StaffForm,
    SupervisionForm,
    TokenForm,
)
from openiop.accounts.models import ApiToken, Membership, User
from openiop.accounts.policy import POLICY
from openiop.audit.models import Action, AuditEvent

NEXT_KEY = "openiop_next"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.user.is_verified():  # type: ignore[union-attr]
        return redirect("home")
    form = SignInForm(request, data=request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            user = form.get_user()
            services.start_session(request, user)
            request.session[NEXT_KEY] = _safe_next(request, request.POST.get("next"))
            if mfa.has_confirmed_totp(user):
                return redirect("login-verify")
            if settings.REQUIRE_MFA:
                return redirect("mfa-setup")
            services.record_login(request, user, detail="password; second factor not required")
            return redirect(request.session.pop(NEXT_KEY, "/"))
        username = request.POST.get("username", "")[:150]
        if getattr(request, "axes_locked_out", False):
            services.record_failed_login(request, username=username, detail="locked out")
            return render(request, "accounts/locked_out.html", status=429)
        services.record_failed_login(request, username=username, detail="wrong password")
    return render(
        request,
        "accounts/login.html",
        {"form": form, "next": request.GET.get("next", request.POST.get("next", ""))},
    )


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_verified():  # type: ignore[union-attr]
        return redirect("home")
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = mfa.verify_second_factor(user, form.cleaned_data["code"])  # type: ignore[arg-type]
        if device is not None:
            services.complete_second_factor(request, user, device)  # type: ignore[arg-type]
            return redirect(request.session.pop(NEXT_KEY, "/"))
        services.record_failed_login(
            request, username=user.get_username(), detail="wrong second-factor code"
        )
        form.add_error("code", "That code is not correct or has expired. Try the next code.")
    return render(request, "accounts/verify.html", {"form": form})


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if mfa.has_confirmed_totp(user) and not user.is_verified():  # type: ignore[attr-defined]
        return redirect("login-verify")
    device = mfa.pending_totp_device(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            codes = mfa.generate_recovery_codes(user)
            was_verified = user.is_verified()  # type: ignore[attr-defined]
            services.complete_second_factor(request, user, device)
            services.record_event_mfa_enrolled(request, user)
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "first_time": not was_verified},
            )
        form.add_error("code", "That code does not match. Check the time on your phone and retry.")
    return render(
        request,
        "accounts/mfa_setup.html",
        {
            "form": form,
            "qr_svg": mfa.provisioning_qr_svg(device),
            "secret": mfa.secret_for_display(device),
            "required": settings.REQUIRE_MFA,
        },
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    services.end_session(request)
    messages.success(request, "You have signed out.")
    return redirect("login")


@require_GET
@requires("home.view")
def home_view(request: HttpRequest) -> HttpResponse:
    role = request.membership.role  # type: ignore[attr-defined]
    abilities = [rule.description for rule in POLICY.values() if role in rule.roles]
    recent_logins = list(
        AuditEvent.objects.filter(
            actor=request.user, action__in=[Action.LOGIN, Action.LOGIN_FAILED]
        ).order_by("-occurred_at")[:5]
    )
    return render(request, "home.html", {"abilities": abilities, "recent_logins": recent_logins})


@require_POST
@requires("home.view")
def switch_site_view(request: HttpRequest) -> HttpResponse:
    try:
        site_id = int(request.POST.get("site", ""))
    except ValueError:
        site_id = -1
    site = services.switch_site(request, site_id)
    if site is None:
        messages.error(request, "You are not a member of that site.")
    else:
        messages.success(request, f"You are now working at {site.name}.")
    return redirect("home")


@never_cache
@requires("profile.manage")
@require_http_methods(["GET", "POST"])
def profile_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    password_form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and password_form.is_valid():
        password_form.save()
        update_session_auth_hash(request, password_form.user)
        services.record_password_change(request, user)
        messages.success(request, "Your password was changed.")
        return redirect("profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "password_form": password_form,
            "token_form": TokenForm(),
            "tokens": ApiToken.objects.filter(user=user),
            "has_totp": mfa.has_confirmed_totp(user),
            "recovery_left": mfa.remaining_recovery_codes(user),
            "sessions": services.live_sessions(user),
            "this_session": request.session.session_key,
        },
    )


@never_cache
@require_POST
@requires("profile.manage")
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    codes = mfa.generate_recovery_codes(request.user)  # type: ignore[arg-type]
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "first_time": False})


@never_cache
@require_POST
@requires("profile.manage")
def token_create_view(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a name so you can recognise it later.")
        return redirect("profile")
    issued = services.create_api_token(
        user=request.user,
        name=form.cleaned_data["name"],
        request=request,  # type: ignore[arg-type]
    )
    return render(request, "accounts/token_created.html", {"issued": issued})


@require_POST
@requires("profile.manage")
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    services.revoke_api_token(token=token, by=request.user, request=request)  # type: ignore[arg-type]
    messages.success(request, f"Token “{token.name}” was revoked.")
    return redirect("profile")


@require_GET
@requires("staff.view")
def staff_list_view(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(site=request.site)  # type: ignore[attr-defined]
        .select_related("user", "user__supervisor")
        .order_by("user__last_name", "user__first_name", "user__username")
    )
    mfa_users = set(
        TOTPDevice.objects.filter(confirmed=True, user__memberships__site=request.site).values_list(  # type: ignore[attr-defined]
            "user_id", flat=True
        )
    )
    return render(
        request,
        "accounts/staff_list.html",
        {"staff": memberships, "mfa_users": mfa_users, "form": StaffForm()},
    )


@require_POST
@requires("staff.manage")
def staff_create_view(request: HttpRequest) -> HttpResponse:
    form = StaffForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            user = services.add_staff_member(
                username=data["username"],
                password=data["password"],
                site=request.site,  # type: ignore[attr-defined]
                role=data["role"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                credentials=data["credentials"],
                by=request.user,  # type: ignore[arg-type]
                request=request,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                target = field if field in form.fields else None
                for error in errors:
                    form.add_error(target, error)
        else:
            messages.success(request, f"{user.display_name} was added.")
            return redirect("staff-list")
    memberships = Membership.objects.filter(site=request.site).select_related(
        "user", "user__supervisor"
    )  # type: ignore[attr-defined]
    mfa_users = set(
        TOTPDevice.objects.filter(confirmed=True, user__memberships__site=request.site).values_list(  # type: ignore[attr-defined]
            "user_id", flat=True
        )
    )
    return render(
        request,
        "accounts/staff_list.html",
        {"staff": memberships, "mfa_users": mfa_users, "form": form, "show_form": True},
        status=422,
    )


def _member_of_site(request: HttpRequest, user_id: int) -> User:
    membership = get_object_or_404(
        Membership.objects.select_related("user"),
        user_id=user_id,
        site=request.site,  # type: ignore[attr-defined]
    )
    return membership.user


@require_POST
@requires("staff.manage")
def staff_disable_view(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _member_of_site(request, user_id)
    if user.pk == request.user.pk:
        messages.error(request, "You cannot disable your own account.")
        return redirect("staff-list")
    ended = services.disable_user(user=user, by=request.user, request=request)  # type: ignore[arg-type]
    messages.success(
        request, f"{user.display_name} was disabled; {ended} open session(s) were ended."
    )
    return redirect("staff-list")


@require_POST
@requires("staff.manage")
def staff_enable_view(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _member_of_site(request, user_id)
    services.enable_user(user=user, by=request.user, request=request)  # type: ignore[arg-type]
    messages.success(request, f"{user.display_name} can sign in again.")
    return redirect("staff-list")


def _supervisors(site: object, user: User) -> object:
    return (
        User.objects.filter(memberships__site=site, is_clinical_supervisor=True, is_active=True)
        .exclude(pk=user.pk)
        .order_by("last_name", "first_name")
    )


@require_http_methods(["GET", "POST"])
@requires("staff.manage")
def staff_supervision_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """Who supervises this staff member, and whether they supervise others."""
    user = _member_of_site(request, user_id)
    site = request.site  # type: ignore[attr-defined]
    supervisors = _supervisors(site, user)
    if request.method == "POST":
        form = SupervisionForm(request.POST, supervisors=supervisors)
        if form.is_valid():
            try:
                services.set_supervision(
                    user=user,
                    site=site,
                    is_clinical_supervisor=form.cleaned_data["is_clinical_supervisor"],
                    supervisor=form.cleaned_data["supervisor"],
                    by=request.user,  # type: ignore[arg-type]
                    request=request,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, f"Supervision of {user.display_name} was saved.")
                return redirect("staff-list")
        status = 422
    else:
        form = SupervisionForm(
            initial={
                "is_clinical_supervisor": user.is_clinical_supervisor,
                "supervisor": user.supervisor_id,
            },
            supervisors=supervisors,
        )
        status = 200
    supervisees = User.objects.filter(supervisor=user).order_by("last_name", "first_name")
    return render(
        request,
        "accounts/staff_supervision.html",
        {"person": user, "form": form, "supervisees": supervisees},
        status=status,
    )
