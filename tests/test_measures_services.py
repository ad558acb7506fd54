"""record_measure / strike_measure / responses_for: scoring, storage, validation, audit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from openiop.alerts.models import Alert
from openiop.audit.models import AuditEvent
from openiop.measures.models import (
    LevelReview,
    MeasureResponse,
    MeasureStrike,
    Occasion,
    ProgramMeasureSettings,
    Respondent,
)
from openiop.measures.services import (
    SETTINGS_MINIMUM,
    MeasureConflict,
    SettingsConflict,
    record_measure,
    responses_for,
    save_measure_schedule,
    strike_measure,
    update_measure_settings,
)
from tests.factories_measures import (
    GAD7_MODERATE,
    PHQ9_MILD,
    enrolled,
    measure,
    schedule,
    strike,
)
from tests.factories_patients import make_patient
from tests.factories_programs import make_program

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)


def test_it_stores_raw_answers_score_band_and_who(site, tom):
    patient, enrollment = enrolled(site, therapist=tom)
    response = measure(patient, "PHQ-9", PHQ9_MILD, by=tom, taken_on=DAY)
    response.refresh_from_db()
    assert response.answers == {str(n): v for n, v in enumerate(PHQ9_MILD, start=1)}
    assert response.score == 7
    assert response.band == "mild"
    assert response.instrument_version == "Kroenke 2001"
    assert response.enrollment == enrollment
    assert response.site == site
    assert response.recorded_by == tom
    assert response.respondent == Respondent.STAFF
    assert response.taken_on == DAY
    assert response.has_safety_flag is False
    assert response.flags == []


def test_it_accepts_a_mapping_keyed_by_item(site, tom):
    patient, _ = enrolled(site, therapist=tom)
    response = record_measure(
        patient=patient,
        instrument="GAD-7",
        answers=dict(enumerate(GAD7_MODERATE, start=1)),
        taken_on=DAY,
        by=tom,
    )
    assert (response.score, response.band) == (10, "moderate")


def test_it_stores_bam_subscales_without_total(site, tom):
    patient, _ = enrolled(site, therapist=tom)
    answers = [1, 2, 3, 4, 0, 1, None, 2, 3, 1, 2, 4, 0, 4, 1, 2, 3]
    response = measure(patient, "BAM", answers, by=tom, taken_on=DAY)
    assert response.score is None
    assert response.band == ""
    # use 4+5+6, risk 1+2+3+8+11+15, protective 9+10+12+13+14+16 (DOMAIN.md §9)
    assert response.subscales == {"use": 5, "risk": 1 + 2 + 3 + 2 + 2 + 1, "protective": 14}
    assert "7" not in response.answers


def test_it_maps_a_short_cssrs_sequence_to_the_skip_logic(site, tom):
    patient, _ = enrolled(site, therapist=tom)
    response = measure(patient, "C-SSRS", [1, 0, None, None, None, 0], by=tom, taken_on=DAY)
    assert response.answers == {"1": 1, "2": 0, "6": 0}
    assert response.band == "low"
    assert response.has_safety_flag is False


def test_it_uses_the_programs_pcl5_threshold(site, tom):
    patient, enrollment = enrolled(site, therapist=tom)
    ProgramMeasureSettings.objects.create(program=enrollment.program, pcl5_threshold=31)
    answers = [2] * 15 + [1] + [0] * 4  # total 31
    response = measure(patient, "PCL-5", answers, by=tom, taken_on=DAY)
    assert response.score == 31
    assert response.band == "probable PTSD"
    other = make_patient(site, first_name="Quinn")
    unenrolled = measure(other, "PCL-5", answers, by=tom, taken_on=DAY)
    assert unenrolled.band == "below threshold"  # default 33


@pytest.mark.parametrize(
    ("instrument", "answers", "key"),
    [
        ("PHQ-9", [1] * 8, "answers.9"),
        ("PHQ-9", [1] * 8 + [4], "answers.9"),
        ("PHQ-9", [1] * 10, "answers"),
        ("GAD-7", [0, 0, "x", 0, 0, 0, 0], "answers.3"),
        ("C-SSRS", [1, 1, 0, None, 0, 0], "answers.4"),
        ("C-SSRS", [1, 0, 1, None, None, 0], "answers.3"),
        ("NOPE-1", [1], "instrument"),
    ],
)
def test_it_refuses_bad_answers_naming_the_item(site, tom, instrument, answers, key):
    patient, _ = enrolled(site, therapist=tom)
    with pytest.raises(ValidationError) as caught:
        measure(patient, instrument, answers, by=tom, taken_on=DAY)
    assert list(caught.value.message_dict) == [key]
    assert not MeasureResponse.objects.exists()
    assert not AuditEvent.objects.filter(object_type="measure").exists()


def test_it_refuses_a_date_in_the_future_or_before_birth(site, tom):
    patient, _ = enrolled(site, therapist=tom, date_of_birth=date(1990, 5, 1))
    tomorrow = timezone.localdate() + timedelta(days=2)
    for day in (tomorrow, date(1990, 4, 30)):
        with pytest.raises(ValidationError) as caught:
            measure(patient, by=tom, taken_on=day)
        assert list(caught.value.message_dict) == ["taken_on"]
    assert measure(patient, by=tom, taken_on=date(1990, 5, 1)).pk
    assert MeasureResponse.objects.count() == 1


def test_it_refuses_an_unknown_respondent_or_occasion(site, tom):
    patient, _ = enrolled(site, therapist=tom)
    with pytest.raises(ValidationError) as caught:
        measure(patient, by=tom, taken_on=DAY, respondent="robot")
    assert list(caught.value.message_dict) == ["respondent"]
    with pytest.raises(ValidationError) as caught:
        measure(patient, by=tom, taken_on=DAY, occasion="whenever")
    assert list(caught.value.message_dict) == ["occasion"]


def test_it_defaults_taken_on_to_the_sites_today(site, tom):
    patient, _ = enrolled(site, therapist=tom)
    response = measure(patient, by=tom)
    from openiop.lib.dates import local_today

    assert response.taken_on == local_today(site.time_zone)


def test_it_infers_intake_then_periodic_or_ad_hoc(site, tom):
    patient, enrollment = enrolled(site, therapist=tom, admitted_on=date(2026, 3, 1))
    schedule(enrollment.program, "PHQ-9", every_days=14)
    first = measure(patient, "PHQ-9", by=tom, taken_on=date(2026, 3, 2))
    second = measure(patient, "PHQ-9", by=tom, taken_on=date(2026, 3, 16))
    gad_first = measure(patient, "GAD-7", GAD7_MODERATE, by=tom, taken_on=date(2026, 3, 2))
    gad_second = measure(patient, "GAD-7", GAD7_MODERATE, by=tom, taken_on=date(2026, 3, 9))
    assert first.occasion == Occasion.INTAKE
    assert second.occasion == Occasion.PERIODIC
    assert gad_first.occasion == Occasion.INTAKE
    assert gad_second.occasion == Occasion.AD_HOC  # no every-N-days schedule for GAD-7


def test_it_infers_intake_again_after_the_earlier_one_is_struck(site, tom):
    patient, _ = enrolled(site, therapist=tom, admitted_on=date(2026, 3, 1))
    first = measure(patient, by=tom, taken_on=date(2026, 3, 2))
    strike(first, by=tom)
    again = measure(patient, by=tom, taken_on=date(2026, 3, 2))
    assert again.occasion == Occasion.INTAKE


def test_it_counts_only_the_current_episode_for_intake(site, tom):
    patient, _ = enrolled(site, therapist=tom, admitted_on=date(2026, 3, 1))
    measure(patient, by=tom, taken_on=date(2026, 2, 1), occasion=Occasion.AD_HOC)
    assert measure(patient, by=tom, taken_on=date(2026, 3, 3)).occasion == Occasion.INTAKE


def test_it_is_ad_hoc_for_a_day_before_the_episode(site, tom):
    patient, _ = enrolled(site, therapist=tom, admitted_on=date(2026, 3, 1))
    assert measure(patient, by=tom, taken_on=date(2026, 2, 27)).occasion == Occasion.AD_HOC
    assert measure(patient, by=tom, taken_on=date(2026, 3, 1)).occasion == Occasion.INTAKE


def test_it_is_ad_hoc_without_an_active_enrollment(site, tom):
    patient = make_patient(site)
    response = measure(patient, by=tom, taken_on=DAY)
    assert response.occasion == Occasion.AD_HOC
    assert response.enrollment is None


def test_it_keeps_an_explicit_occasion(site, tom):
    patient, _ = enrolled(site, therapist=tom)
    assert measure(patient, by=tom, taken_on=DAY, occasion="discharge").occasion == "discharge"


def test_it_audits_the_new_response(site, tom):
    patient, _ = enrolled(site, therapist=tom)
    response = measure(patient, by=tom, taken_on=DAY)
    event = AuditEvent.objects.get(object_type="measure")
    assert event.action == "create"
    assert event.patient_id == patient.pk
    assert event.object_id == str(response.pk)
    assert event.actor == tom
    assert "PHQ-9 score 7 (mild)" in event.detail


def test_it_raises_the_safety_alert_from_record_measure(site, tom, dana):
    patient, _ = enrolled(site, therapist=tom)
    response = measure(patient, "PHQ-9", [0] * 8 + [2], by=tom, taken_on=DAY)
    assert response.has_safety_flag
    assert set(Alert.objects.values_list("assignee__username", flat=True)) == {"tom", "dana"}


def test_responses_are_append_only(site, tom):
    patient, _ = enrolled(site, therapist=tom)
    response = measure(patient, by=tom, taken_on=DAY)
    with pytest.raises(DatabaseError), transaction.atomic():
        MeasureResponse.objects.filter(pk=response.pk).update(score=0)


def test_it_strikes_once_with_a_reason_and_audits(site, tom):
    patient, _ = enrolled(site, therapist=tom)
    response = measure(patient, by=tom, taken_on=DAY)
    with pytest.raises(ValidationError) as caught:
        strike_measure(response=response, reason="   ", by=tom)
    assert list(caught.value.message_dict) == ["reason"]
    with pytest.raises(ValidationError):
        strike_measure(response=response, reason="x" * 501, by=tom)
    struck = strike_measure(response=response, reason=" wrong patient ", by=tom)
    assert struck.reason == "wrong patient"
    assert struck.struck_by == tom
    with pytest.raises(MeasureConflict):
        strike_measure(response=response, reason="again", by=tom)
    assert MeasureStrike.objects.count() == 1
    event = AuditEvent.objects.get(object_type="measure", action="update")
    assert event.detail == "struck: wrong patient"
    assert event.patient_id == patient.pk


def test_responses_for_filters_instrument_and_struck(site, tom):
    patient, _ = enrolled(site, therapist=tom)
    other = make_patient(site, first_name="Quinn")
    phq_old = measure(patient, by=tom, taken_on=date(2026, 3, 1))
    phq_new = measure(patient, by=tom, taken_on=date(2026, 3, 8))
    gad = measure(patient, "GAD-7", GAD7_MODERATE, by=tom, taken_on=date(2026, 3, 5))
    measure(other, by=tom, taken_on=DAY)
    strike(phq_old, by=tom)
    assert list(responses_for(patient)) == [phq_new, gad]
    assert list(responses_for(patient, "PHQ-9")) == [phq_new]
    assert list(responses_for(patient, "PHQ-9", include_struck=True)) == [phq_new, phq_old]
    assert list(responses_for(patient.pk, include_struck=True)) == [phq_new, gad, phq_old]


def test_it_lets_the_review_engine_see_the_new_score(site, tom, dana):
    patient, enrollment = enrolled(site, therapist=tom)
    measure(patient, "PHQ-9", [0] * 8 + [1], by=tom)
    review = LevelReview.objects.get(enrollment=enrollment)
    assert (review.direction, review.trigger) == ("step_up", "measure")


# --- program setup services ------------------------------------------------------------------


def _settings_values(**overrides):
    values = dict.fromkeys(SETTINGS_MINIMUM, 5)
    values["require_goals_met"] = True
    values.update(overrides)
    return values


def test_settings_refuse_a_second_first_save_with_the_same_version(site, dana):

    program = make_program(site)
    first = update_measure_settings(program=program, values=_settings_values(), version=1, by=dana)
    assert first.version == 2
    with pytest.raises(SettingsConflict):
        update_measure_settings(
            program=program, values=_settings_values(missed_weeks=9), version=1, by=dana
        )
    first.refresh_from_db()
    assert first.missed_weeks == 5
    event = AuditEvent.objects.get(object_type="measure_settings")
    assert event.patient_id is None
    assert "missed_weeks" in event.detail


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"pcl5_threshold": 0}, "pcl5_threshold"),
        ({"pcl5_threshold": 81}, "pcl5_threshold"),
        ({"stable_min_screens": -1}, "stable_min_screens"),
        ({"missed_weeks": True}, "missed_weeks"),
        ({"craving_rise": "2"}, "craving_rise"),
        ({"require_goals_met": 1}, "require_goals_met"),
        ({"score_window_days": 366}, "score_window_days"),
    ],
)
def test_settings_refuse_bad_values_naming_the_field(site, dana, overrides, field):

    program = make_program(site)
    with pytest.raises(ValidationError) as caught:
        update_measure_settings(
            program=program, values=_settings_values(**overrides), version=1, by=dana
        )
    assert list(caught.value.message_dict) == [field]
    assert not ProgramMeasureSettings.objects.exists()


def test_settings_accept_zero_negative_screens_for_step_down(site, dana):

    program = make_program(site)
    saved = update_measure_settings(
        program=program, values=_settings_values(stable_min_screens=0), version=1, by=dana
    )
    assert saved.stable_min_screens == 0


def test_a_schedule_cannot_be_moved_to_another_program(site, dana):

    one, two = make_program(site, name="One"), make_program(site, name="Two")
    row = schedule(one, "PHQ-9")
    with pytest.raises(ValidationError):
        save_measure_schedule(
            program=two,
            instrument="PHQ-9",
            at_intake=True,
            every_days=None,
            at_discharge=False,
            schedule=row,
            by=dana,
        )
    row.refresh_from_db()
    assert row.program == one
