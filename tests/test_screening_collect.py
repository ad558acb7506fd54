"""Recording a specimen's collection: validity with the organization's bounds, bad input."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from openiop.audit.models import AuditEvent
from openiop.lib.dates import zone
from openiop.screening.models import DrugScreen, ScreeningSettings, ScreenStatus
from openiop.screening.services_screens import ScreenConflict, record_collection
from tests.factories_screens import collection, make_screen, screen_case


@pytest.fixture
def case(site, tom):
    return screen_case(site, tom)


def collect(case, by, **overrides):
    return record_collection(
        case.screen, by=by, data=collection(**overrides), version=case.screen.version
    )


def test_collection_is_stored_and_classified_valid(case, dana):
    screen = collect(case, dana, specimen_id="LAB-0001")
    screen.refresh_from_db()
    assert screen.status == ScreenStatus.COLLECTED
    assert screen.validity == "valid"
    assert screen.collected_by == dana
    assert screen.observed is True
    assert screen.specimen_id == "LAB-0001"
    assert screen.temperature_c == Decimal("34.5")
    assert screen.panel is not None and screen.panel.is_default
    assert screen.version == 2
    assert screen.interpretation["validity"]["class"] == "valid"
    assert AuditEvent.objects.filter(
        object_type="drug_screen", object_id=str(screen.pk), patient_id=case.patient.pk
    ).exists()


def test_dilute_specimen(case, dana):
    screen = collect(case, dana, creatinine_mg_dl="15", specific_gravity="1.002")
    assert screen.validity == "dilute"
    assert any("Dilute" in r for r in screen.interpretation["validity"]["reasons"])


def test_substituted_specimen(case, dana):
    screen = collect(case, dana, creatinine_mg_dl="1.5", specific_gravity="1.0005")
    assert screen.validity == "substituted"


def test_adulterated_ph(case, dana):
    screen = collect(case, dana, ph="3.5")
    assert screen.validity == "adulterated"


def test_temperature_read_late_is_noted_not_refused(case, dana):
    screen = collect(case, dana, temperature_c="30", temperature_read_minutes="6")
    assert screen.validity == "valid"
    reasons = " ".join(screen.interpretation["validity"]["reasons"])
    assert "6 minutes after collection" in reasons
    assert screen.interpretation["validity"]["temperature_verified"] is False


def test_cold_specimen_read_in_time_is_invalid(case, dana):
    assert collect(case, dana, temperature_c="30", temperature_read_minutes="2").validity == (
        "invalid"
    )


def test_settings_bounds_override_the_defaults(case, dana):
    ScreeningSettings.objects.update_or_create(
        pk=1, defaults={"validity_bounds": {"dilute_creatinine_below": "90"}}
    )
    # creatinine 80 with a low gravity: dilute only under the stricter bound.
    screen = collect(case, dana, specific_gravity="1.002")
    assert screen.validity == "dilute"


def test_inconsistent_settings_fall_back_to_defaults(case, dana):
    ScreeningSettings.objects.update_or_create(
        pk=1, defaults={"validity_bounds": {"temperature_min_c": "50"}}
    )
    assert collect(case, dana).validity == "valid"


def test_oral_fluid_has_no_urine_checks(case, dana):
    screen = collect(
        case,
        dana,
        specimen="oral_fluid",
        creatinine_mg_dl="",
        specific_gravity="",
        ph="",
    )
    assert screen.validity == "valid"
    assert screen.panel is None
    assert screen.interpretation["validity"]["checks_apply"] is False


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"specimen": "blood"}, "specimen"),
        ({"specimen": ""}, "specimen"),
        ({"collected_at": ""}, "collected_at"),
        ({"collected_at": "yesterday-ish"}, "collected_at"),
        ({"temperature_c": "warm"}, "temperature_c"),
        ({"temperature_c": "140"}, "temperature_c"),
        ({"temperature_c": True}, "temperature_c"),
        ({"temperature_read_minutes": "-1"}, "temperature_read_minutes"),
        ({"creatinine_mg_dl": "-3"}, "creatinine_mg_dl"),
        ({"specific_gravity": "0.99"}, "specific_gravity"),
        ({"ph": "15"}, "ph"),
        ({"ph": "NaN"}, "ph"),
        ({"nitrite_ug_ml": "Infinity"}, "nitrite_ug_ml"),
        ({"specimen": "oral_fluid"}, "creatinine_mg_dl"),
        ({"specimen_id": "X" * 61}, "specimen_id"),
        ({"panel_id": "999999"}, "panel_id"),
        ({"panel_id": "abc"}, "panel_id"),
    ],
)
def test_bad_collection_is_refused_and_nothing_written(case, dana, overrides, field):
    with pytest.raises(ValidationError) as caught:
        collect(case, dana, **overrides)
    assert field in caught.value.message_dict
    case.screen.refresh_from_db()
    assert case.screen.status == ScreenStatus.SELECTED
    assert case.screen.version == 1


def test_collection_in_the_future_is_refused(case, dana):
    later = (timezone.now() + timedelta(hours=2)).isoformat()
    with pytest.raises(ValidationError) as caught:
        collect(case, dana, collected_at=later)
    assert caught.value.message_dict["collected_at"] == ["The collection time is in the future."]


def test_naive_time_is_the_sites(case, dana, site):
    site_now = timezone.localtime(timezone.now() - timedelta(hours=1), zone(site.time_zone))
    screen = collect(case, dana, collected_at=site_now.replace(tzinfo=None).isoformat())
    assert abs(screen.collected_at - site_now) < timedelta(seconds=1)


def test_specimen_id_is_unique_at_the_site(case, dana):
    other = make_screen(case.patient, reason="for_cause", cause="Staff concern")
    record_collection(other, by=dana, data=collection(specimen_id="LAB-7"), version=1)
    with pytest.raises(ValidationError) as caught:
        collect(case, dana, specimen_id="LAB-7")
    assert "already used" in caught.value.message_dict["specimen_id"][0]


def test_stale_version_is_a_conflict(case, dana):
    collect(case, dana)
    with pytest.raises(ScreenConflict):
        record_collection(case.screen, by=dana, data=collection(), version=1)


def test_not_collected_screen_cannot_be_collected(case, dana):
    DrugScreen.objects.filter(pk=case.screen.pk).update(
        status=ScreenStatus.NOT_COLLECTED, not_collected_reason="Patient left"
    )
    with pytest.raises(ScreenConflict):
        collect(case, dana)


def test_correction_reclassifies(case, dana):
    screen = collect(case, dana)
    screen = record_collection(screen, by=dana, data=collection(ph="3"), version=screen.version)
    assert screen.validity == "adulterated"
