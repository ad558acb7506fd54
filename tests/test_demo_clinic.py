"""The demo clinic: believable, deterministic, idempotent and quick."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from openiop.accounts.demo import DOWNTOWN, build_demo
from openiop.clinic.demo import build_demo_clinic
from openiop.clinical.hashing import verify_note, verify_plan
from openiop.clinical.models import Cosignature, Disclosure, Note, NoteGoal, TreatmentPlan
from openiop.patients.models import Patient
from openiop.programs.models import DischargeReason, Enrollment, Episode, TransferKind
from openiop.scheduling.conflicts import find_conflicts
from openiop.scheduling.models import AttendanceStatus, Booking, Session


@pytest.fixture(scope="module")
def built_clinic(django_db_setup, django_db_blocker):
    """One demo clinic for the whole module (it takes seconds to build), inside a
    transaction rolled back after the module's last test; each test runs in a savepoint."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            rng = random.Random(5)
            build_demo(rng=rng)
            yield build_demo_clinic(rng=rng)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def clinic(built_clinic, db):
    return built_clinic


def test_it_loads_about_sixty_patients_with_ten_weeks_of_history(clinic):
    assert clinic.created
    assert 50 <= Patient.objects.count() <= 70
    assert Patient.objects.filter(site__name=DOWNTOWN).count() > 40
    earliest = Session.objects.order_by("starts_at").first().starts_at
    latest = Session.objects.order_by("-starts_at").first().starts_at
    assert (latest - earliest).days >= 7 * 17
    recorded = Booking.objects.exclude(status__in=["booked", "cancelled_by_clinic"])
    assert recorded.count() > 1500


def test_it_tells_every_kind_of_ending_and_transfer(clinic):
    reasons = set(
        Enrollment.objects.exclude(discharge_reason="").values_list("discharge_reason", flat=True)
    )
    assert reasons == set(DischargeReason.values)
    kinds = set(
        Enrollment.objects.exclude(transfer_kind="").values_list("transfer_kind", flat=True)
    )
    assert kinds == set(TransferKind.values)
    # A transfer stays inside one episode: the chart reads as one story.
    for enrollment in Enrollment.objects.filter(previous__isnull=False).select_related("previous"):
        assert enrollment.episode_id == enrollment.previous.episode_id
        assert enrollment.admitted_on == enrollment.previous.discharged_on
    assert (
        not Episode.objects.annotate(
            active=Count("enrollments", filter=Q(enrollments__status="active"))
        )
        .filter(active__gt=1)
        .exists()
    )


def test_its_attendance_looks_like_a_real_clinic(clinic):
    statuses = Counter(Booking.objects.values_list("status", flat=True))
    attended = sum(statuses[s] for s in ("present", "late", "left_early"))
    missed = sum(statuses[s] for s in ("excused", "unexcused", "no_show"))
    assert 0.75 < attended / (attended + missed) < 0.97
    assert statuses[AttendanceStatus.CANCELLED_BY_CLINIC] > 0
    assert statuses[AttendanceStatus.BOOKED] > 0  # sessions still ahead
    late = Booking.objects.filter(status="late").first()
    assert late.checked_in_at is not None
    assert 0 < late.minutes_attended < late.session.duration_minutes


def test_its_schedule_has_no_double_booking(clinic):
    for session in Session.objects.filter(status="scheduled"):
        patients = list(session.bookings.values_list("patient_id", flat=True))
        assert (
            find_conflicts(
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                facilitator_id=session.facilitator_id,
                room_id=session.room_id,
                patient_ids=patients,
                exclude_session_ids=[session.pk],
            )
            == []
        ), session


def test_it_respects_capacity_and_agrees_with_generate_sessions(clinic):
    from io import StringIO

    from django.core.management import call_command
    from django.db.models import Count

    from openiop.scheduling.models import SEAT_STATUSES

    over = (
        Session.objects.annotate(
            seats=Count("bookings", filter=Q(bookings__status__in=SEAT_STATUSES))
        )
        .filter(seats__gt=F("capacity"))
        .count()
    )
    assert over == 0
    # The nightly job continues the demo's rhythms without a single conflict.
    out = StringIO()
    call_command("generate_sessions", "--weeks", "10", stdout=out)
    assert "0 skipped for conflicts." in out.getvalue()


def test_its_groups_teach_the_life_skills_curriculum(clinic):
    from openiop.scheduling.curriculum import patient_curriculum

    tagged = Session.objects.filter(curriculum_module__isnull=False)
    assert set(tagged.values_list("curriculum_module__code", flat=True)) == {
        "relapse_prevention",
        "managing_cravings",
        "stress_management",
        "conflict_resolution",
        "sober_support_system",
    }
    veteran = (
        Enrollment.objects.filter(status="active", track__name="Morning")
        .order_by("admitted_on")
        .first()
    )
    progress = patient_curriculum(veteran.patient)
    assert any(module.completed for module in progress)


def test_its_documentation_is_signed_verifiable_and_leaves_work_to_do(clinic):
    signed = Note.objects.filter(status="signed")
    kinds = Counter(signed.values_list("kind", flat=True))
    assert kinds["group"] > 20 and kinds["group_member"] > 100 and kinds["individual"] > 10
    assert all(verify_note(note) for note in signed)
    assert all(verify_plan(plan) for plan in TreatmentPlan.objects.filter(status="signed"))
    # The golden thread has something to show, and no member note names another patient.
    assert NoteGoal.objects.count() > 100
    for member in signed.filter(kind="group_member").select_related("group_note")[:50]:
        others = Patient.objects.filter(bookings__session_id=member.session_id).exclude(
            pk=member.patient_id
        )
        text = str(member.sections) + member.summary + member.topic
        assert not any(other.last_name in text or other.mrn in text for other in others)
    # A supervised clinician's notes: most co-signed, a few waiting in the queue.
    waiting = Note.objects.filter(requires_cosign=True, cosignature__isnull=True)
    assert waiting.exists()
    assert Cosignature.objects.exists()
    # Work left for the worklist: a draft group note and a plan not yet signed.
    assert Note.objects.filter(kind="group", status="draft").count() == 1
    assert TreatmentPlan.objects.filter(status="draft").exists()
    # The disclosure log shows documents given out, each the SHA-256 of a real PDF.
    kinds = set(Disclosure.objects.values_list("document", flat=True))
    assert kinds == {"attendance_letter", "discharge_summary"}


def test_its_screens_and_medications_tell_a_true_story(clinic):
    from copy import deepcopy

    from openiop.alerts.models import Alert
    from openiop.lib.dates import local_today
    from openiop.medications.models import Administration, MedicationOrder
    from openiop.medications.services import injections_due_for_site
    from openiop.screening.models import DrugScreen, ScreeningPhase, ScreenSelection
    from openiop.screening.services_screens import interpret_screen, validity_bounds
    from openiop.screening.validity import SpecimenMeasurements, classify_validity

    # Medications: MAT of every kind, psychiatric medicines, rescue kits, injections given.
    codes = set(MedicationOrder.objects.values_list("medication", flat=True))
    assert {"bup_nx_sl", "sublocade", "vivitrol", "methadone_otp", "naloxone_kit"} <= codes
    assert {"sertraline", "clonazepam", "amphetamine_salts"} <= codes
    methadone = MedicationOrder.objects.get(medication="methadone_otp")
    assert methadone.dispensing == "external_otp" and "(fictional)" in methadone.external_prescriber
    assert Administration.objects.filter(order__medication="sublocade").count() >= 3
    downtown = Patient.objects.filter(site__name=DOWNTOWN).first().site
    today = local_today(downtown.time_zone)
    due = injections_due_for_site(downtown, today)
    assert {(row.order.medication, row.status) for row in due} >= {
        ("sublocade", "overdue"),
        ("sublocade", "due"),
        ("vivitrol", "due"),
    }
    assert any(row.first_dose and row.order.medication == "vivitrol" for row in due)
    # The overdue Sublocade injection alerted the therapist and the prescriber.
    late = next(
        row for row in due if row.status == "overdue" and row.order.medication == "sublocade"
    )
    overdue_alerts = Alert.objects.filter(kind="injection_overdue", patient=late.patient)
    assert overdue_alerts.count() == 2 and overdue_alerts.filter(state="open").count() == 2
    assert ScreeningPhase.objects.filter(program__name="Adult PHP", per_week=3).exists()

    # Screens: selected by day on the real pool, never today or ahead.
    screens = DrugScreen.objects.select_related("site", "patient", "enrollment")
    assert screens.filter(status="collected").count() > 200
    assert not screens.filter(selected_on__gte=today).exists()
    assert not ScreenSelection.objects.filter(day__gte=today).exists()
    for selection in ScreenSelection.objects.all():
        random_ones = set(
            selection.screens.filter(reason="random").values_list("patient_id", flat=True)
        )
        assert set(selection.record["selected"]) == random_ones
        assert len(selection.record["decisions"]) == selection.record["pool_size"]

    # Validity and interpretation are what the pure cores and the service make of them.
    bounds = validity_bounds()
    collected = list(screens.filter(status="collected").prefetch_related("results"))
    for screen in collected:
        verdict = classify_validity(
            SpecimenMeasurements(
                screen.specimen,
                temperature_c=screen.temperature_c,
                temperature_read_after_minutes=screen.temperature_read_minutes,
                creatinine_mg_dl=screen.creatinine_mg_dl,
                specific_gravity=screen.specific_gravity,
                ph=screen.ph,
                nitrite_ug_ml=screen.nitrite_ug_ml,
            ),
            bounds,
        )
        assert screen.validity == verdict.classification.value
    sample = [s for s in collected if s.verdict == "unexpected"] + collected[::7]
    # The service raises today's alerts as it interprets: rolled back, they are not the demo's.
    with transaction.atomic():
        for screen in sample:
            again = deepcopy(screen)
            interpret_screen(again, list(screen.results.all()), request=None)
            stored = {k: v for k, v in screen.interpretation.items() if k != "interpreted_at"}
            fresh = {k: v for k, v in again.interpretation.items() if k != "interpreted_at"}
            assert stored == fresh, screen.pk
            assert screen.verdict == again.verdict
        transaction.set_rollback(True)

    # Every kind of unexpected result, each alerting the therapist and the prescriber.
    unexpected = [s for s in collected if s.verdict == "unexpected"]
    reasons = " ".join(
        item["reason"]
        for s in unexpected
        for item in s.interpretation["analytes"]
        if item["verdict"] == "unexpected"
    )
    assert "not explained by any active prescription" in reasons
    assert "positive without norbuprenorphine" in reasons
    assert "is prescribed" in reasons  # a prescribed medicine missing
    assert any(s.validity == "dilute" for s in unexpected)
    for screen in unexpected:
        alerts = Alert.objects.filter(evidence_type="drug_screen", evidence_id=screen.pk)
        expected = {
            u.pk
            for u in (screen.enrollment.primary_therapist, screen.enrollment.prescriber)
            if u is not None
        }
        assert set(alerts.values_list("assignee_id", flat=True)) == expected, screen.pk
        if screen.reviewed_at is not None:
            assert alerts.filter(assignee=screen.reviewed_by, state="resolved").exists()
    states = Counter(Alert.objects.filter(kind="unexpected_screen").values_list("state", flat=True))
    assert states["resolved"] > 5 and 2 <= states["open"] + states["acknowledged"] <= 8
    assert DrugScreen.objects.filter(verdict="unexpected", reviewed_at__isnull=True).count() >= 2


def test_it_tells_measurement_based_care_with_a_safety_alert_placements_and_reviews(clinic):
    from openiop.alerts.models import Alert, AlertKind, AlertState
    from openiop.measures import instruments
    from openiop.measures.models import (
        LevelReview,
        MeasureResponse,
        MeasureSchedule,
        PlacementAssessment,
        ReviewState,
    )
    from openiop.measures.outcomes import Score, pair_for

    active = Enrollment.objects.filter(status="active")
    assert MeasureSchedule.objects.filter(instrument="PHQ-9", every_days=14).exists()
    with_phq9 = set(
        MeasureResponse.objects.filter(instrument="PHQ-9").values_list("patient_id", flat=True)
    )
    # Those admitted in the last days have their intake questionnaires still due.
    settled = active.filter(admitted_on__lt=timezone.localdate() - timedelta(days=3))
    assert set(settled.values_list("patient_id", flat=True)) <= with_phq9
    codes = set(MeasureResponse.objects.values_list("instrument", flat=True))
    assert {"PHQ-9", "GAD-7", "BAM", "CRAVING", "PCL-5", "AUDIT"} <= codes
    # Every stored score is what the registry computes from the stored answers.
    for response in MeasureResponse.objects.order_by("pk")[:300]:
        scored = instruments.score(
            response.instrument, {int(k): v for k, v in response.answers.items()}
        )
        assert (scored.total, scored.band or "") == (response.score, response.band)
    # Most patients improve from admission to their latest PHQ-9, some do not.
    changes = []
    for enrollment in Enrollment.objects.filter(previous__isnull=True):
        rows = MeasureResponse.objects.filter(patient=enrollment.patient, instrument="PHQ-9")
        pair = pair_for(
            [Score(r.taken_on, r.pk, r.score) for r in rows],
            admitted_on=enrollment.admitted_on,
            last_day=date.max,
        )
        if pair:
            changes.append(pair.latest - pair.first)
    assert len(changes) > 30
    assert sum(c < 0 for c in changes) > len(changes) / 2
    assert any(c > 0 for c in changes)
    # Exactly one PHQ-9 with item 9 above 0, this week, through the service: its alert is
    # open for the therapist and the director.
    flagged = MeasureResponse.objects.get(has_safety_flag=True)
    assert flagged.answers["9"] > 0
    safety = Alert.objects.filter(kind=AlertKind.SAFETY, patient=flagged.patient)
    assert set(safety.values_list("state", flat=True)) == {AlertState.OPEN}
    assignees = set(safety.values_list("assignee__username", flat=True))
    assert "dana" in assignees and len(assignees) == 2
    # An intake placement, decided, for everyone in treatment; one override with its reason.
    placed = PlacementAssessment.objects.filter(kind="intake")
    assert set(placed.values_list("patient_id", flat=True)) == set(
        active.values_list("patient_id", flat=True)
    )
    assert not PlacementAssessment.objects.filter(provided_level="").exists()
    (override,) = PlacementAssessment.objects.exclude(provided_reason="")
    assert (override.indicated_level, override.provided_level) == ("2.5", "2.1")
    assert LevelReview.objects.filter(state=ReviewState.OPEN).exists()
    assert Alert.objects.filter(kind=AlertKind.REVIEW_RECOMMENDED, state="open").exists()
