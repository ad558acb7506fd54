"""The life-skills curriculum screens: the director's module list and forms, tagging a session."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openiop.accounts.access import requires
from openiop.accounts.policy import role_may
from openiop.programs.forms import run_service
from openiop.scheduling import curriculum
from openiop.scheduling.access import get_session_for_user
from openiop.scheduling.forms_curriculum import CurriculumModuleForm, SessionModuleForm
from openiop.scheduling.models import CurriculumModule


def _form_page(
    request: HttpRequest, form: CurriculumModuleForm, *, title: str, intro: str, submit: str
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "page_title": title,
        "intro": intro,
        "submit_label": submit,
        "cancel_url": reverse("setup-curriculum"),
    }
    status = 422 if request.method == "POST" else 200
    return render(request, "scheduling/curriculum_form.html", context, status=status)


@require_GET
@requires("programs.view")
def curriculum_list_view(request: HttpRequest) -> HttpResponse:
    membership = getattr(request, "membership", None)
    return render(
        request,
        "scheduling/curriculum_list.html",
        {
            "modules": list(CurriculumModule.objects.order_by("-is_active", "sort_order", "name")),
            "can_manage": role_may(membership.role if membership else None, "programs.manage"),
        },
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def curriculum_create_view(request: HttpRequest) -> HttpResponse:
    form = CurriculumModuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        module = run_service(
            form,
            lambda: curriculum.create_module(
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **form.cleaned_data,
            ),
        )
        if module is not None:
            messages.success(request, f"Module “{module.name}” was added to the curriculum.")
            return redirect("setup-curriculum")
    return _form_page(
        request,
        form,
        title="New curriculum module",
        intro="Modules are shared by every site; group sessions are tagged with one.",
        submit="Add module",
    )


@require_http_methods(["GET", "POST"])
@requires("programs.manage")
def curriculum_edit_view(request: HttpRequest, module_id: int) -> HttpResponse:
    module = get_object_or_404(CurriculumModule, pk=module_id)
    form = CurriculumModuleForm(
        request.POST or None,
        editing=True,
        initial={
            "name": module.name,
            "description": module.description,
            "sort_order": module.sort_order,
            "is_active": module.is_active,
        },
    )
    if request.method == "POST" and form.is_valid():
        saved = run_service(
            form,
            lambda: curriculum.update_module(
                module=module,
                by=request.user,  # type: ignore[arg-type]
                request=request,
                **form.cleaned_data,
            ),
        )
        if saved is not None:
            messages.success(request, f"Module “{form.cleaned_data['name']}” was updated.")
            return redirect("setup-curriculum")
    return _form_page(
        request,
        form,
        title=f"Edit module “{module.name}”",
        intro=(
            f"API code: {module.code}. A retired module stays on the sessions that taught it "
            "and leaves patients' charts."
        ),
        submit="Save module",
    )


@require_POST
@requires("attendance.record")
def session_module_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_session_for_user(request, session_id, permission="attendance.record")
    form = SessionModuleForm(request.POST)
    roster = reverse("session-roster", kwargs={"session_id": session.pk})
    if not form.is_valid():
        messages.error(request, "Module not saved: choose one of the listed modules.")
        return redirect(roster)
    module = form.cleaned_data["curriculum_module"]
    try:
        curriculum.tag_session_module(
            session=session,
            module=module,
            by=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except ValidationError as exc:
        messages.error(request, f"Module not saved: {' '.join(exc.messages)}")
    else:
        messages.success(
            request,
            f"This session teaches “{module.name}”." if module else "Module cleared.",
        )
    return redirect(roster)
