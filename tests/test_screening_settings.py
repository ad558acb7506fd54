"""Screening settings: phases per program, panels and cutoffs, specimen-validity bounds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.audit.models import AuditEvent
from openiop.screening import services_settings as services
from openiop.screening.catalog import ANALYTES
from openiop.screening.defaults import DEFAULT_PHASES
from openiop.screening.models import Panel, PanelAnalyte, ScreeningPhase, ScreeningSettings
from openiop.screening.validity import ValidityBounds
from tests.factories import sign_in
from tests.factories_programs import make_program

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(site):
    return make_program(site, name="Adult IOP")


@pytest.fixture
def director(client, site, dana):
    sign_in(client, dana, site=site)
    return client


def _phase(program, from_day=0, label="Early treatment", **fields):
    return ScreeningPhase.objects.create(program=program, from_day=from_day, label=label, **fields)


def _phase_post(**overrides):
    data = {
        "label": "Early treatment",
        "from_day": "0",
        "per_week": "2",
        "per_month": "0",
        "extra_chance_percent": "0",
    }
    data.update(overrides)
    return data


# --- Defaults and the overview -----------------------------------------------------------------


def test_default_phases_are_those_of_the_issue():
    assert [(p.from_day, p.per_week, p.per_month) for p in DEFAULT_PHASES] == [
        (0, 2, 0),
        (30, 1, 0),
        (90, 0, 2),
    ]


def test_overview_shows_the_defaults_for_a_program_without_phases(director, program):
    response = director.get(reverse("screening-settings"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "uses the defaults" in html
    assert html.count('data-testid="default-phase"') == 3
    assert "Default urine panel" in html
    assert html.count("verify</span>") == len(ValidityBounds.TO_VERIFY)


def test_overview_shows_a_programs_own_phases(director, program):
    _phase(program, 0, "First month", per_week=3, extra_chance=Decimal("0.125"))
    response = director.get(reverse("screening-settings"))
    html = response.content.decode()
    assert "First month" in html
    assert "12.5 %" in html
    assert 'data-testid="default-phase"' not in html


def test_overview_query_count_does_not_grow_with_programs(director, site):
    def measure():
        with CaptureQueriesContext(connection) as ctx:
            assert director.get(reverse("screening-settings")).status_code == 200
        return len(ctx.captured_queries)

    first = make_program(site, name="Program 1")
    _phase(first, 0, per_week=2)
    small = measure()
    for n in range(2, 7):
        program = make_program(site, name=f"Program {n}")
        _phase(program, 0, per_week=2)
        _phase(program, 30, "Later", per_week=1)
    Panel.objects.create(name="Oral kit", specimen="oral_fluid")
    assert measure() == small


def test_only_the_sites_programs_are_listed(director, program, other_site):
    make_program(other_site, name="Elsewhere IOP")
    html = director.get(reverse("screening-settings")).content.decode()
    assert "Adult IOP" in html
    assert "Elsewhere IOP" not in html


# --- Phases ------------------------------------------------------------------------------------


def test_director_adds_the_first_phase(director, program):
    response = director.post(
        reverse("screening-phase-create", args=[program.pk]),
        _phase_post(extra_chance_percent="12.5"),
    )
    assert response.status_code == 302
    phase = ScreeningPhase.objects.get(program=program)
    assert (phase.from_day, phase.per_week, phase.extra_chance) == (0, 2, Decimal("0.125"))
    assert AuditEvent.objects.filter(object_type="screening_phase", action="create").exists()


def test_the_first_phase_must_start_at_admission(director, program):
    response = director.post(
        reverse("screening-phase-create", args=[program.pk]), _phase_post(from_day="7")
    )
    assert response.status_code == 422
    assert "must start at admission (day 0)" in response.content.decode()
    assert not ScreeningPhase.objects.exists()


def test_two_phases_cannot_start_the_same_day(director, program):
    _phase(program, 0, per_week=2)
    response = director.post(
        reverse("screening-phase-create", args=[program.pk]), _phase_post(label="Again")
    )
    assert response.status_code == 422
    assert "already has a phase from day 0" in response.content.decode()
    assert ScreeningPhase.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("per_week", "8", "less than or equal to 7"),
        ("per_month", "40", "less than or equal to 31"),
        ("from_day", "-1", "greater than or equal to 0"),
        ("extra_chance_percent", "120", "less than or equal to 100"),
        ("label", "", "This field is required"),
        ("per_week", "two", "Enter a whole number"),
    ],
)
def test_bad_phase_input_names_the_field(director, program, field, value, message):
    response = director.post(
        reverse("screening-phase-create", args=[program.pk]), _phase_post(**{field: value})
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert f'id="id_{field}-error"' in html
    assert not ScreeningPhase.objects.exists()


def test_a_phase_that_screens_no_one_is_refused(director, program):
    response = director.post(
        reverse("screening-phase-create", args=[program.pk]), _phase_post(per_week="0")
    )
    assert response.status_code == 422
    assert "would screen no one" in response.content.decode()


def test_an_extra_chance_alone_is_a_phase(program, dana):
    phase = services.create_phase(
        program,
        by=dana,
        data={
            "label": "Stable",
            "from_day": 0,
            "per_week": 0,
            "per_month": 0,
            "extra_chance": "0.1",
        },
    )
    assert phase.extra_chance == Decimal("0.1")


@pytest.mark.parametrize("chance", ["1.5", "-0.1", "0.12345", "NaN", "lots"])
def test_service_refuses_a_bad_extra_chance(program, dana, chance):
    with pytest.raises(ValidationError) as caught:
        services.create_phase(
            program,
            by=dana,
            data={
                "label": "x",
                "from_day": 0,
                "per_week": 1,
                "per_month": 0,
                "extra_chance": chance,
            },
        )
    assert "extra_chance" in caught.value.message_dict


def test_director_edits_a_phase(director, program):
    phase = _phase(program, 0, per_week=2)
    later = _phase(program, 30, "Later", per_week=1)
    response = director.get(reverse("screening-phase-edit", args=[later.pk]))
    assert 'value="30"' in response.content.decode()
    response = director.post(
        reverse("screening-phase-edit", args=[later.pk]),
        _phase_post(label="After a month", from_day="28", per_week="1", per_month="5"),
    )
    assert response.status_code == 302
    later.refresh_from_db()
    assert (later.label, later.from_day, later.per_month) == ("After a month", 28, 5)
    # Moving the admission phase away from day 0 leaves days 0–27 without a frequency.
    response = director.post(
        reverse("screening-phase-edit", args=[phase.pk]), _phase_post(from_day="3")
    )
    assert response.status_code == 422
    phase.refresh_from_db()
    assert phase.from_day == 0


def test_removing_the_admission_phase_first_is_refused(director, program):
    first = _phase(program, 0, per_week=2)
    later = _phase(program, 30, "Later", per_week=1)
    response = director.post(reverse("screening-phase-delete", args=[first.pk]), follow=True)
    assert "remove the later phases first" in response.content.decode()
    assert ScreeningPhase.objects.count() == 2
    director.post(reverse("screening-phase-delete", args=[later.pk]))
    response = director.post(reverse("screening-phase-delete", args=[first.pk]), follow=True)
    assert "uses the default phases again" in response.content.decode()
    assert not ScreeningPhase.objects.exists()
    assert AuditEvent.objects.filter(object_type="screening_phase", action="delete").count() == 2


def test_adopting_the_defaults_copies_them_once(director, program):
    director.post(reverse("screening-phases-adopt", args=[program.pk]))
    rows = list(program.screening_phases.values_list("from_day", "per_week", "per_month"))
    assert rows == [(0, 2, 0), (30, 1, 0), (90, 0, 2)]
    response = director.post(reverse("screening-phases-adopt", args=[program.pk]), follow=True)
    assert "already has its own phases" in response.content.decode()
    assert program.screening_phases.count() == 3


def test_another_sites_program_and_phase_are_not_found(client, oscar, other_site, program):
    phase = _phase(program, 0, per_week=2)
    sign_in(client, oscar, site=other_site)
    assert client.get(reverse("screening-phase-create", args=[program.pk])).status_code == 404
    assert client.get(reverse("screening-phase-edit", args=[phase.pk])).status_code == 404
    assert client.post(reverse("screening-phase-delete", args=[phase.pk])).status_code == 404
    assert client.post(reverse("screening-phases-adopt", args=[program.pk])).status_code == 404
    assert ScreeningPhase.objects.filter(pk=phase.pk).exists()


# --- Panels ------------------------------------------------------------------------------------


def _panel_post(name="Cup 12 (urine)", specimen="urine", analytes=("thc", "cocaine"), **extra):
    data = {"name": name, "specimen": specimen, "description": "", "is_active": "on"}
    for code in analytes:
        data[f"{code}_on"] = "on"
        data[f"{code}_screen"] = "50"
        data[f"{code}_confirm"] = "15"
    data.update(extra)
    return data


def test_the_new_panel_form_lists_every_analyte_with_its_default_cutoffs(director):
    html = director.get(reverse("screening-panel-create")).content.decode()
    for analyte in ANALYTES:
        assert analyte.name in html
    assert 'name="fentanyl_confirm"' in html


def test_director_creates_a_panel_for_a_kit(director):
    response = director.post(reverse("screening-panel-create"), _panel_post())
    assert response.status_code == 302
    panel = Panel.objects.get(name="Cup 12 (urine)")
    lines = {line.analyte: line for line in panel.analytes.all()}
    assert set(lines) == {"thc", "cocaine"}
    assert lines["thc"].screen_cutoff == Decimal("50")
    assert not panel.is_default
    assert AuditEvent.objects.filter(object_type="screening_panel", action="create").exists()


def test_a_new_default_replaces_the_old_one_for_its_specimen(director):
    old = Panel.objects.get(is_default=True, specimen="urine")
    response = director.post(
        reverse("screening-panel-create"), _panel_post(is_default="on"), follow=True
    )
    assert f"replaces {old.name}" in response.content.decode()
    old.refresh_from_db()
    assert not old.is_default
    assert Panel.objects.get(is_default=True, specimen="urine").name == "Cup 12 (urine)"


def test_the_default_cannot_just_stop_being_one(director):
    panel = Panel.objects.get(is_default=True, specimen="urine")
    data = _panel_post(name=panel.name)
    response = director.post(reverse("screening-panel-edit", args=[panel.pk]), data)
    assert response.status_code == 422
    assert "make another panel the default" in response.content.decode()
    assert Panel.objects.get(pk=panel.pk).analytes.count() == len(ANALYTES)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_panel_post(name="default URINE panel"), "exists already"),
        (_panel_post(analytes=()), "at least one analyte"),
        (_panel_post(thc_confirm="abc"), "Enter a number of ng/mL"),
        (_panel_post(thc_confirm=""), "Enter the confirmation cutoff"),
        (_panel_post(thc_screen="-5"), "more than 0"),
        (_panel_post(thc_screen="0"), "more than 0"),
        (_panel_post(thc_screen="1.23456"), "3 after the decimal point"),
        (_panel_post(specimen="blood"), "Select a valid choice"),
        (_panel_post(is_default="on", is_active=""), "out of use cannot be the default"),
    ],
)
def test_bad_panel_input_is_refused_and_nothing_written(director, data, message):
    before = (Panel.objects.count(), PanelAnalyte.objects.count())
    response = director.post(reverse("screening-panel-create"), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert (Panel.objects.count(), PanelAnalyte.objects.count()) == before


def test_director_edits_a_panels_cutoffs(director):
    panel = Panel.objects.get(is_default=True, specimen="urine")
    html = director.get(reverse("screening-panel-edit", args=[panel.pk])).content.decode()
    assert 'name="fentanyl_confirm"' in html
    data = _panel_post(name=panel.name, analytes=[a.code for a in ANALYTES], is_default="on")
    data["norbuprenorphine_screen"] = ""
    data["fentanyl_confirm"] = "0.5"
    response = director.post(reverse("screening-panel-edit", args=[panel.pk]), data)
    assert response.status_code == 302
    line = panel.analytes.get(analyte="fentanyl")
    assert line.confirm_cutoff == Decimal("0.5")
    assert panel.analytes.get(analyte="norbuprenorphine").screen_cutoff is None


def test_an_unknown_panel_is_not_found(director):
    assert director.get(reverse("screening-panel-edit", args=[987654])).status_code == 404


def test_service_refuses_unknown_and_repeated_analytes(dana):
    for lines, message in (
        ([{"analyte": "kratom", "confirm_cutoff": "5"}], "Unknown analyte"),
        (
            [{"analyte": "thc", "confirm_cutoff": "5"}, {"analyte": "thc", "confirm_cutoff": "6"}],
            "listed twice",
        ),
    ):
        with pytest.raises(ValidationError) as caught:
            services.create_panel(
                by=dana,
                data={"name": "Lab X", "specimen": "urine", "is_active": True},
                analytes=lines,
            )
        assert message in str(caught.value.message_dict["analytes"])


# --- Validity bounds ---------------------------------------------------------------------------


def _bounds_post(version, **values):
    data = {"version": str(version)}
    data.update(values)
    return data


def test_validity_page_marks_the_bounds_to_verify(director):
    html = director.get(reverse("screening-validity")).content.decode()
    assert html.count('data-testid="verify-bound"') == len(ValidityBounds.TO_VERIFY)
    assert "Invalid: pH at or above (µg/mL)" not in html
    assert "Invalid: pH at or above (verify)" in html
    assert 'value="9"' in html  # the default shown


def test_director_overrides_a_bound(director):
    version = services.screening_settings().version
    response = director.post(
        reverse("screening-validity"),
        _bounds_post(version, ph_invalid_at_or_above="9.5", temperature_min_c="32"),
    )
    assert response.status_code == 302
    settings = ScreeningSettings.objects.get(pk=1)
    # Only what differs from the defaults is stored.
    assert settings.validity_bounds == {"ph_invalid_at_or_above": "9.5"}
    assert services.current_bounds().ph_invalid_at_or_above == Decimal("9.5")
    assert AuditEvent.objects.filter(object_type="screening_settings").exists()
    html = director.get(reverse("screening-settings")).content.decode()
    assert "changed</span>" in html


def test_empty_fields_return_to_the_defaults(director, dana):
    settings = services.update_validity_bounds(
        by=dana, values={"ph_invalid_at_or_above": Decimal("9.5")}, version=1
    )
    response = director.post(reverse("screening-validity"), _bounds_post(settings.version))
    assert response.status_code == 302
    assert ScreeningSettings.objects.get(pk=1).validity_bounds == {}


def test_bounds_out_of_order_are_refused_naming_the_bound(director):
    response = director.post(reverse("screening-validity"), _bounds_post(1, temperature_min_c="39"))
    assert response.status_code == 422
    html = response.content.decode()
    assert "“Temperature at least (°C)” must not exceed “Temperature at most (°C)”" in html
    assert 'id="id_temperature_min_c-error"' in html
    assert ScreeningSettings.objects.get(pk=1).validity_bounds == {}


def test_a_stale_version_is_a_conflict(director, dana):
    services.update_validity_bounds(by=dana, values={"ph_invalid_below": Decimal("4.6")}, version=1)
    response = director.post(reverse("screening-validity"), _bounds_post(1, ph_invalid_below="4.4"))
    assert response.status_code == 409
    assert "Someone changed the validity bounds" in response.content.decode()
    assert ScreeningSettings.objects.get(pk=1).validity_bounds == {"ph_invalid_below": "4.6"}


@pytest.mark.parametrize("value", ["-1", "abc", "1e400"])
def test_bad_numbers_are_form_errors(director, value):
    response = director.post(reverse("screening-validity"), _bounds_post(1, ph_invalid_below=value))
    assert response.status_code == 422
    assert 'id="id_ph_invalid_below-error"' in response.content.decode()


def test_service_refuses_an_unknown_bound(dana):
    with pytest.raises(ValidationError):
        services.update_validity_bounds(by=dana, values={"colour": Decimal(1)}, version=1)


def test_the_setup_tabs_offer_drug_screening_to_directors_only(client, site, dana, tom):
    sign_in(client, dana, site=site)
    assert "Drug screening</a>" in client.get("/setup/").content.decode()
    sign_in(client, tom, site=site)
    assert "Drug screening</a>" not in client.get("/setup/").content.decode()
