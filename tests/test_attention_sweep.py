"""The attention sweep: hours at risk, notes unsigned, plans and placements due — raised once,
escalated, cleared by the system when the condition clears; constant queries; the command."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.alerts.models import Alert, AlertKind, AlertState, Severity
from openiop.alerts.services import resolve_alert
from openiop.audit.models import AuditEvent
from openiop.clinical.individual_notes import start_individual_note
from openiop.clinical.models import Note
from openiop.measures.attention import sweep_site
from openiop.measures.services_placement import record_placement
from tests.factories_clinical import make_plan
from tests.factories_enrollment import make_enrollment
from tests.factories_notes import individual, signed_note
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

pytestmark = pytest.mark.django_db

# Wednesday 2026-03-04, 10:00 in Chicago (ISO week 2026-W10).
NOW = datetime.fromisoformat("2026-03-04T16:00:00+00:00")
TODAY = date(2026, 3, 4)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def program(site):
    return make_program(site)


def _enrolled(site, program, therapist, *, name="Hal", admitted_days_ago=40):
    patient = make_patient(site, first_name=name, last_name="Sweepcase")
    return make_enrollment(
        patient,
        program,
        admitted_on=TODAY - timedelta(days=admitted_days_ago),
        primary_therapist=therapist,
    )


def _placement(patient, by, *, days_ago=0):
    return record_placement(
        patient=patient,
        kind=None,
        edition=3,
        criteria={},
        ratings=dict.fromkeys(range(1, 7), (0, "")),
        assessed_on=TODAY - timedelta(days=days_ago),
        by=by,
    )


def _active(kind=None):
    rows = Alert.objects.exclude(state=AlertState.RESOLVED)
    return rows.filter(kind=kind) if kind else rows


def test_it_raises_each_kind_once_for_the_right_person(site, program, tom):
    enrollment = _enrolled(site, program, tom)
    result = sweep_site(site)
    assert result.raised == {
        AlertKind.HOURS_AT_RISK: 1,
        AlertKind.PLAN_DUE: 1,
        AlertKind.PLACEMENT_DUE: 1,
    }
    hours = Alert.objects.get(kind=AlertKind.HOURS_AT_RISK)
    assert hours.evidence_type == "hours_week:2026-W10"
    assert hours.evidence_id == enrollment.pk and hours.assignee == tom
    assert hours.severity == Severity.MEDIUM
    # Due at the end of the ISO week: next Monday 00:00 in Chicago, which is 05:00 UTC since
    # daylight-saving time began on Sunday March 8.
    assert hours.due_at == datetime.fromisoformat("2026-03-09T05:00:00+00:00")
    plan = Alert.objects.get(kind=AlertKind.PLAN_DUE)
    assert (plan.evidence_type, plan.evidence_id) == ("enrollment_plan", enrollment.pk)
    assert plan.severity == Severity.HIGH  # due 7 days after admission: long overdue
    placement = Alert.objects.get(kind=AlertKind.PLACEMENT_DUE)
    assert placement.severity == Severity.LOW
    assert (placement.evidence_type, placement.evidence_id) == (
        "enrollment_placement",
        enrollment.pk,
    )
    assert set(Alert.objects.values_list("patient_id", flat=True)) == {enrollment.patient_id}
    created = AuditEvent.objects.filter(object_type="alert", action="create")
    assert created.count() == 3


def test_a_second_run_changes_nothing(site, program, tom):
    _enrolled(site, program, tom)
    sweep_site(site)
    before = list(Alert.objects.order_by("pk").values())
    events = AuditEvent.objects.count()
    again = sweep_site(site)
    assert again.total_raised == 0 and again.total_resolved == 0 and again.escalated == 0
    assert list(Alert.objects.order_by("pk").values()) == before
    assert AuditEvent.objects.count() == events


def test_nobody_is_alerted_without_a_primary_therapist_or_for_a_discharged_patient(
    site, program, tom
):
    _enrolled(site, program, None)
    gone = _enrolled(site, program, tom, name="Gus")
    gone.status = "discharged"
    gone.discharged_on = TODAY - timedelta(days=1)
    gone.save()
    assert sweep_site(site).total_raised == 0


def test_a_signed_plan_clears_the_plan_alert_as_the_system(site, program, tom):
    enrollment = _enrolled(site, program, tom)
    sweep_site(site)
    make_plan(enrollment.patient, enrollment, tom)
    result = sweep_site(site)
    assert result.resolved == {AlertKind.PLAN_DUE: 1}
    alert = Alert.objects.get(kind=AlertKind.PLAN_DUE)
    assert alert.state == AlertState.RESOLVED and alert.resolved_by is None
    assert alert.resolution == "Cleared: plan signed or no longer due"
    assert _active(AlertKind.HOURS_AT_RISK).count() == 1


def test_a_plan_review_escalates_from_due_to_overdue(site, program, tom, frozen):
    enrollment = _enrolled(site, program, tom)
    plan = make_plan(enrollment.patient, enrollment, tom, review_due_on=TODAY + timedelta(days=3))
    sweep_site(site)
    alert = Alert.objects.get(kind=AlertKind.PLAN_DUE)
    assert (alert.evidence_type, alert.evidence_id) == ("plan", plan.pk)
    assert alert.severity == Severity.MEDIUM
    assert alert.title == "Treatment plan review due Mar 7, 2026"
    frozen.shift(timedelta(days=5))
    result = sweep_site(site)
    assert result.escalated == 1
    alert.refresh_from_db()
    assert alert.severity == Severity.HIGH and alert.version == 2
    event = AuditEvent.objects.get(object_type="alert", object_id=str(alert.pk))
    assert event.detail == "severity raised to high (attention sweep)"
    assert event.patient_id == enrollment.patient_id
    assert Alert.objects.filter(kind=AlertKind.PLAN_DUE).count() == 1


def test_a_draft_note_past_its_deadline_alerts_its_author_until_signed(site, tom):
    case = individual(site, tom, ago_hours=30)
    draft = start_individual_note(case.session, author=tom, format="dap")
    fresh = individual(site, tom, first_name="Fay", ago_hours=3)
    start_individual_note(fresh.session, author=tom, format="dap")
    sweep_site(site)
    alert = Alert.objects.get(kind=AlertKind.NOTE_UNSIGNED)
    assert (alert.evidence_type, alert.evidence_id) == ("note", draft.pk)
    assert alert.assignee == tom and alert.patient_id == case.patient.pk
    assert alert.due_at == case.session.ends_at + timedelta(hours=24)
    Note.objects.filter(pk=draft.pk).delete()
    signed_note(another := individual(site, tom, first_name="Ned", ago_hours=40), tom)
    result = sweep_site(site)
    assert result.resolved.get(AlertKind.NOTE_UNSIGNED) == 1
    assert not _active(AlertKind.NOTE_UNSIGNED).filter(patient=another.patient).exists()
    alert.refresh_from_db()
    assert alert.resolution == "Cleared: note signed or deleted"


def test_a_session_without_a_note_alerts_the_facilitator_until_a_note_is_started(site, tom):
    case = individual(site, tom, ago_hours=30)
    individual(site, tom, first_name="Fay", ago_hours=3)  # not overdue yet
    sweep_site(site)
    alert = Alert.objects.get(kind=AlertKind.NOTE_UNSIGNED)
    assert (alert.evidence_type, alert.evidence_id) == ("session", case.session.pk)
    assert alert.assignee == tom and alert.patient_id == case.patient.pk
    assert alert.title == "Note not written past the program's deadline"
    assert alert.due_at == case.session.ends_at + timedelta(hours=24)
    draft = start_individual_note(case.session, author=tom, format="dap")
    result = sweep_site(site)
    assert result.resolved == {AlertKind.NOTE_UNSIGNED: 1}
    assert result.raised == {AlertKind.NOTE_UNSIGNED: 1}
    current = _active(AlertKind.NOTE_UNSIGNED).get()
    assert (current.evidence_type, current.evidence_id) == ("note", draft.pk)


def test_a_newer_placement_clears_the_placement_alert(site, program, tom):
    enrollment = _enrolled(site, program, tom)
    old = _placement(enrollment.patient, tom, days_ago=35)
    sweep_site(site)
    alert = Alert.objects.get(kind=AlertKind.PLACEMENT_DUE)
    assert (alert.evidence_type, alert.evidence_id) == ("placement", old.pk)
    _placement(enrollment.patient, tom)
    result = sweep_site(site)
    assert result.resolved == {AlertKind.PLACEMENT_DUE: 1}
    assert not _active(AlertKind.PLACEMENT_DUE).exists()


def test_the_hours_alert_clears_when_the_week_is_over_and_the_next_week_gets_its_own(
    site, program, tom, frozen
):
    enrollment = _enrolled(site, program, tom)
    _placement(enrollment.patient, tom)
    make_plan(enrollment.patient, enrollment, tom)
    sweep_site(site)
    frozen.shift(timedelta(days=7))
    result = sweep_site(site)
    assert result.resolved == {AlertKind.HOURS_AT_RISK: 1}
    assert result.raised == {AlertKind.HOURS_AT_RISK: 1}
    current = _active(AlertKind.HOURS_AT_RISK).get()
    assert current.evidence_type == "hours_week:2026-W11"


def test_a_resolved_alert_is_not_raised_again_for_the_same_evidence(site, program, tom):
    _enrolled(site, program, tom)
    sweep_site(site)
    alert = Alert.objects.get(kind=AlertKind.HOURS_AT_RISK)
    resolve_alert(alert, by=tom, version=1, resolution="Patient on approved leave.")
    assert sweep_site(site).total_raised == 0
    alert.refresh_from_db()
    assert alert.resolution == "Patient on approved leave."


def test_other_kinds_are_left_alone(site, program, tom):
    enrollment = _enrolled(site, program, tom)
    Alert.objects.create(
        site=site,
        patient=enrollment.patient,
        kind=AlertKind.SAFETY,
        severity=Severity.HIGH,
        title="PHQ-9 item 9 positive",
        evidence_type="measure",
        evidence_id=1,
        assignee=tom,
        created_at=NOW,
    )
    sweep_site(site)
    assert _active(AlertKind.SAFETY).count() == 1


def test_the_sweep_costs_the_same_queries_for_one_or_many_enrollments(site, program, tom, dana):
    first = _enrolled(site, program, tom)
    make_plan(first.patient, first, tom, review_due_on=TODAY)
    with CaptureQueriesContext(connection) as one:
        sweep_site(site)
    for n in range(8):
        enrollment = _enrolled(site, program, tom if n % 2 else dana, name=f"Many{n}")
        if n % 3 == 0:
            make_plan(enrollment.patient, enrollment, tom, review_due_on=TODAY)
    Alert.objects.all().delete()
    with CaptureQueriesContext(connection) as many:
        result = sweep_site(site)
    assert result.total_raised > 20
    assert len(many.captured_queries) == len(one.captured_queries)


def test_the_command_prints_a_line_per_site_and_refuses_an_unknown_site(
    site, other_site, program, tom
):
    _enrolled(site, program, tom)
    out = StringIO()
    call_command("attention_sweep", stdout=out)
    text = out.getvalue()
    assert "[1/2] Elsewhere Recovery Center: 0 new alert(s), 0 escalated, 0 cleared." in text
    assert (
        "[2/2] Testville Clinic: 3 new alert(s) (hours at risk 1, plans due 1, placements due 1),"
        " 0 escalated, 0 cleared." in text
    )
    assert "Done: 2 site(s)." in text
    out = StringIO()
    call_command("attention_sweep", "--site", "Testville Clinic", stdout=out)
    assert "[1/1] Testville Clinic: 0 new alert(s)" in out.getvalue()
    with pytest.raises(CommandError, match="No site named 'Nowhere'"):
        call_command("attention_sweep", "--site", "Nowhere")
