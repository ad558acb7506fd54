"""The life-skills curriculum: modules, the setup screens, tagging a session, chart progress."""

from __future__ import annotations

import importlib
from datetime import date, time, timedelta

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.lib.dates import at_local
from openiop.scheduling import curriculum
from openiop.scheduling.models import AttendanceStatus, CurriculumModule, Session
from tests.factories import make_user, sign_in
from tests.factories_patients import make_patient
from tests.factories_scheduling import make_booking, make_session

pytestmark = pytest.mark.django_db

SEEDED = [
    "relapse_prevention",
    "managing_cravings",
    "stress_management",
    "conflict_resolution",
    "sober_support_system",
]


def module(code: str) -> CurriculumModule:
    return CurriculumModule.objects.get(code=code)


@pytest.fixture
def patient(site):
    return make_patient(site, first_name="Pat", last_name="Placeholder")


def attend(site, tom, patient, code: str | None, day: date, status=AttendanceStatus.PRESENT):
    """A past group on ``day`` at 18:00 local, tagged with module ``code``, ``patient`` in it."""
    session = make_session(
        site,
        tom,
        at_local(day, time(18, 0), site.time_zone),
        curriculum_module=module(code) if code else None,
    )
    make_booking(session, patient, status=status)
    return session


def progress_by_code(patient):
    return {item.module.code: item for item in curriculum.patient_curriculum(patient)}


# --- Seed ----------------------------------------------------------------------------------


def test_it_seeds_the_five_modules_in_curriculum_order():
    assert list(CurriculumModule.objects.values_list("code", flat=True)) == SEEDED
    assert module("sober_support_system").name == "Building a sober support system"


def test_the_seed_migration_is_reversible():
    seed = importlib.import_module("openiop.scheduling.migrations.0004_seed_curriculum_modules")
    seed.unseed(django_apps, None)
    assert not CurriculumModule.objects.exists()
    seed.seed(django_apps, None)
    seed.seed(django_apps, None)  # idempotent
    assert CurriculumModule.objects.count() == len(SEEDED)


# --- Services ------------------------------------------------------------------------------


def test_it_creates_updates_and_retires_a_module_with_audit(dana):
    created = curriculum.create_module(
        code=" Anger ", name=" Anger management ", description="", sort_order=60, by=dana
    )
    assert (created.code, created.name, created.is_active) == ("anger", "Anger management", True)
    curriculum.update_module(
        module=created, name="Managing anger", description="Cool-down plans", sort_order=5, by=dana
    )
    created.refresh_from_db()
    assert (created.name, created.sort_order) == ("Managing anger", 5)
    curriculum.deactivate_module(module=created, by=dana)
    created.refresh_from_db()
    assert not created.is_active
    events = AuditEvent.objects.filter(object_type="curriculum_module", object_id=str(created.pk))
    assert list(events.order_by("pk").values_list("action", flat=True)) == [
        "create",
        "update",
        "update",
    ]
    assert "(retired)" in events.order_by("pk").last().detail


@pytest.mark.parametrize(
    ("code", "name", "field"),
    [
        ("managing_cravings", "Something new", "code"),
        ("new_one", "Managing cravings", "name"),
        ("not a slug!", "Fresh", "code"),
        ("blank_name", "   ", "name"),
    ],
)
def test_it_refuses_a_taken_or_bad_code_or_name(dana, code, name, field):
    with pytest.raises(ValidationError) as exc:
        curriculum.create_module(code=code, name=name, by=dana)
    assert field in exc.value.message_dict
    assert CurriculumModule.objects.count() == len(SEEDED)


def test_tagging_a_session_is_audited_and_can_be_cleared(site, tom):
    session = make_session(site, tom, timezone.now())
    curriculum.tag_session_module(session=session, module=module("stress_management"), by=tom)
    session.refresh_from_db()
    assert session.curriculum_module.code == "stress_management"
    curriculum.tag_session_module(session=session, module=None, by=tom)
    session.refresh_from_db()
    assert session.curriculum_module is None
    details = list(
        AuditEvent.objects.filter(object_type="session", object_id=str(session.pk))
        .order_by("pk")
        .values_list("detail", flat=True)
    )
    assert details == ["curriculum module: stress_management", "curriculum module cleared"]
    assert AuditEvent.objects.filter(object_type="session", site=site).count() == 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "cancelled", "cancel_reason": "Snow day"}, "cancelled"),
        ({"kind": "individual", "group_type": None}, "Only group sessions"),
    ],
)
def test_it_refuses_to_tag_a_cancelled_or_individual_session(site, tom, fields, message):
    session = make_session(site, tom, timezone.now(), **fields)
    with pytest.raises(ValidationError) as exc:
        curriculum.tag_session_module(session=session, module=module("stress_management"), by=tom)
    assert message in exc.value.message_dict["curriculum_module"][0]
    session.refresh_from_db()
    assert session.curriculum_module is None
    assert not AuditEvent.objects.filter(object_type="session").exists()


def test_it_refuses_a_retired_module_but_keeps_one_already_set(site, tom, dana):
    session = make_session(site, tom, timezone.now())
    other = make_session(site, tom, timezone.now() + timedelta(days=1))
    cravings = module("managing_cravings")
    curriculum.tag_session_module(session=session, module=cravings, by=tom)
    curriculum.deactivate_module(module=cravings, by=dana)
    cravings.refresh_from_db()
    with pytest.raises(ValidationError):
        curriculum.tag_session_module(session=other, module=cravings, by=tom)
    # Saving the roster form again with the module it already has changes nothing.
    curriculum.tag_session_module(session=session, module=cravings, by=tom)
    session.refresh_from_db()
    assert session.curriculum_module_id == cravings.pk


# --- Progress ------------------------------------------------------------------------------


def test_progress_counts_only_attendance_of_the_patient_at_tagged_scheduled_sessions(
    site, tom, patient
):
    other = make_patient(site, first_name="Casey", last_name="Sample")
    day = date(2026, 2, 2)
    attend(site, tom, patient, "relapse_prevention", day)
    attend(site, tom, patient, "relapse_prevention", day + timedelta(days=7))
    attend(site, tom, patient, "managing_cravings", day, status=AttendanceStatus.LATE)
    attend(site, tom, patient, "stress_management", day, status=AttendanceStatus.LEFT_EARLY)
    attend(site, tom, patient, "conflict_resolution", day, status=AttendanceStatus.EXCUSED)
    attend(site, tom, patient, "conflict_resolution", day, status=AttendanceStatus.NO_SHOW)
    attend(site, tom, patient, "conflict_resolution", day, status=AttendanceStatus.UNEXCUSED)
    attend(site, tom, patient, "conflict_resolution", day, status=AttendanceStatus.BOOKED)
    attend(site, tom, other, "sober_support_system", day)
    attend(site, tom, patient, None, day)
    cancelled = attend(site, tom, patient, "sober_support_system", day)
    Session.objects.filter(pk=cancelled.pk).update(status="cancelled")

    progress = progress_by_code(patient)

    assert list(progress) == SEEDED
    assert {code for code, item in progress.items() if item.completed} == {
        "relapse_prevention",
        "managing_cravings",
        "stress_management",
    }
    assert progress["relapse_prevention"].last_attended_on == day + timedelta(days=7)
    assert progress["conflict_resolution"].last_attended_on is None
    assert progress_by_code(other)["sober_support_system"].completed


def test_progress_dates_are_in_the_site_time_zone(site, tom, patient):
    # 23:30 local on March 1 is already March 2 in UTC for any zone west of Greenwich.
    session = make_session(
        site,
        tom,
        at_local(date(2026, 3, 1), time(23, 30), site.time_zone),
        30,
        curriculum_module=module("stress_management"),
    )
    make_booking(session, patient, status=AttendanceStatus.PRESENT)
    assert progress_by_code(patient)["stress_management"].last_attended_on == date(2026, 3, 1)


def test_retired_modules_leave_the_progress_list(site, tom, patient, dana):
    curriculum.deactivate_module(module=module("conflict_resolution"), by=dana)
    assert "conflict_resolution" not in progress_by_code(patient)


@pytest.mark.parametrize("sessions", [2, 25])
def test_progress_takes_two_queries_whatever_the_history(
    site, tom, patient, sessions, django_assert_num_queries
):
    for index in range(sessions):
        attend(site, tom, patient, SEEDED[index % 5], date(2026, 1, 5) + timedelta(days=index))
    with django_assert_num_queries(2):
        assert len(curriculum.patient_curriculum(patient)) == 5


# --- Setup screens -------------------------------------------------------------------------


@pytest.fixture
def director(client, dana, site):
    sign_in(client, dana, site=site)
    return client


def test_the_list_shows_every_module_and_the_directors_buttons(director):
    body = director.get(reverse("setup-curriculum")).content.decode()
    assert "Building a sober support system" in body
    assert reverse("setup-curriculum-create") in body
    assert reverse("setup-curriculum-edit", args=[module("stress_management").pk]) in body


def test_a_therapist_sees_the_list_without_buttons_and_cannot_create(client, tom, site):
    sign_in(client, tom, site=site)
    body = client.get(reverse("setup-curriculum")).content.decode()
    assert "Managing cravings" in body
    assert reverse("setup-curriculum-create") not in body
    response = client.post(reverse("setup-curriculum-create"), {"code": "x", "name": "X"})
    assert response.status_code == 403
    assert not CurriculumModule.objects.filter(code="x").exists()


def test_the_list_uses_a_constant_number_of_queries(director, dana):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert director.get(reverse("setup-curriculum")).status_code == 200
        return len(queries)

    few = count()
    for index in range(20):
        curriculum.create_module(code=f"extra{index}", name=f"Extra {index}", by=dana)
    assert count() == few


def test_a_director_adds_a_module(director):
    response = director.post(
        reverse("setup-curriculum-create"),
        {"code": "money", "name": "Money and budgeting", "description": "", "sort_order": "60"},
    )
    assert response.status_code == 302
    created = module("money")
    assert (created.name, created.sort_order, created.is_active) == (
        "Money and budgeting",
        60,
        True,
    )
    assert AuditEvent.objects.filter(object_type="curriculum_module", action="create").exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"code": "dup", "name": "Managing cravings"}, "name", "exists already"),
        ({"code": "managing_cravings", "name": "Fresh"}, "code", "taken"),
        ({"code": "ok", "name": ""}, "name", "required"),
        ({"code": "ok", "name": "Fine", "sort_order": "-1"}, "sort_order", "greater"),
        ({"code": "ok", "name": "Fine", "sort_order": "lots"}, "sort_order", "whole number"),
    ],
)
def test_bad_input_is_a_form_error_and_writes_nothing(director, data, field, message):
    response = director.post(reverse("setup-curriculum-create"), {"sort_order": "10", **data})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert CurriculumModule.objects.count() == len(SEEDED)


def test_a_director_renames_and_retires_a_module(director):
    target = module("stress_management")
    url = reverse("setup-curriculum-edit", args=[target.pk])
    assert director.get(url).status_code == 200
    response = director.post(
        url, {"name": "Stress and sleep", "description": "Wind-down", "sort_order": "30"}
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.name, target.description, target.is_active) == (
        "Stress and sleep",
        "Wind-down",
        False,  # the unticked box retires it
    )


def test_renaming_to_a_taken_name_is_a_form_error(director):
    target = module("stress_management")
    response = director.post(
        reverse("setup-curriculum-edit", args=[target.pk]),
        {"name": "Relapse prevention", "sort_order": "30", "is_active": "on"},
    )
    assert response.status_code == 422
    assert "exists already" in " ".join(response.context["form"].errors["name"])
    target.refresh_from_db()
    assert target.name == "Stress management"


def test_editing_an_unknown_module_is_404(director):
    assert director.get(reverse("setup-curriculum-edit", args=[999999])).status_code == 404


# --- Roster form ---------------------------------------------------------------------------


def test_the_roster_offers_the_modules_and_tags_the_session(client, site, tom):
    session = make_session(site, tom, timezone.now() - timedelta(hours=1))
    sign_in(client, tom, site=site)
    roster = reverse("session-roster", args=[session.pk])
    body = client.get(roster).content.decode()
    assert 'data-testid="session-module-form"' in body
    assert reverse("session-module", args=[session.pk]) in body

    cravings = module("managing_cravings")
    response = client.post(
        reverse("session-module", args=[session.pk]), {"curriculum_module": cravings.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == roster
    session.refresh_from_db()
    assert session.curriculum_module_id == cravings.pk
    body = client.get(roster).content.decode()
    assert f'<option value="{cravings.pk}" selected>' in body

    client.post(reverse("session-module", args=[session.pk]), {"curriculum_module": ""})
    session.refresh_from_db()
    assert session.curriculum_module is None


def test_the_roster_refuses_a_bad_module_or_a_cancelled_session(client, site, tom):
    session = make_session(site, tom, timezone.now() - timedelta(hours=1))
    sign_in(client, tom, site=site)
    url = reverse("session-module", args=[session.pk])
    response = client.post(url, {"curriculum_module": "999999"}, follow=True)
    assert "Module not saved" in response.content.decode()
    Session.objects.filter(pk=session.pk).update(status="cancelled")
    response = client.post(url, {"curriculum_module": module("managing_cravings").pk}, follow=True)
    body = response.content.decode()
    assert "This session was cancelled." in body
    assert 'data-testid="session-module-form"' not in body
    session.refresh_from_db()
    assert session.curriculum_module is None


def test_the_module_form_is_not_offered_without_attendance_rights(client, site, tom):
    prescriber = make_user("priya", site=site, role=Role.PRESCRIBER)
    session = make_session(
        site,
        tom,
        timezone.now() - timedelta(hours=1),
        curriculum_module=module("managing_cravings"),
    )
    sign_in(client, prescriber, site=site)
    body = client.get(reverse("session-roster", args=[session.pk])).content.decode()
    assert 'data-testid="session-module-form"' not in body
    assert "Curriculum module: <strong>Managing cravings</strong>" in body
    post = client.post(reverse("session-module", args=[session.pk]), {"curriculum_module": ""})
    assert post.status_code == 403
    session.refresh_from_db()
    assert session.curriculum_module is not None


def test_another_sites_session_cannot_be_tagged(client, other_site, oscar, site, tom):
    theirs = make_session(other_site, oscar, timezone.now() - timedelta(hours=1))
    sign_in(client, tom, site=site)
    response = client.post(
        reverse("session-module", args=[theirs.pk]),
        {"curriculum_module": module("managing_cravings").pk},
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.curriculum_module is None


# --- Chart card ----------------------------------------------------------------------------


def test_the_chart_lists_completed_and_remaining_modules(client, site, tom, patient):
    day = date(2026, 2, 3)
    attend(site, tom, patient, "relapse_prevention", day)
    attend(site, tom, patient, "managing_cravings", day + timedelta(days=1))
    attend(site, tom, patient, "stress_management", day + timedelta(days=2))
    attend(site, tom, patient, "conflict_resolution", day, status=AttendanceStatus.NO_SHOW)
    sign_in(client, tom, site=site)

    body = client.get(f"/patients/{patient.pk}/").content.decode()

    assert "Life-skills curriculum" in body
    assert "3 of 5 completed" in body
    assert 'data-module="relapse_prevention" data-completed="true"' in body
    assert "Completed Feb 4, 2026" in body
    assert 'data-module="conflict_resolution" data-completed="false"' in body
    assert 'data-module="sober_support_system" data-completed="false"' in body
    assert body.count(">Remaining<") == 2


@pytest.mark.parametrize("sessions", [1, 20])
def test_the_chart_card_adds_a_constant_number_of_queries(client, site, tom, patient, sessions):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/patients/{patient.pk}/").status_code == 200
        return len(queries)

    sign_in(client, tom, site=site)
    client.get(f"/patients/{patient.pk}/")
    baseline = count()
    for index in range(sessions):
        attend(site, tom, patient, SEEDED[index % 5], date(2026, 1, 5) + timedelta(days=index))
    assert count() == baseline
