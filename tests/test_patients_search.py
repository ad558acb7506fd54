"""search_patients: by name, MRN and date of birth over the lower-cased key columns."""

from __future__ import annotations

from datetime import date

import pytest

from openiop.patients.models import Patient
from openiop.patients.queries import DOB, INVALID, MRN, NAME, search_patients
from tests.factories_patients import make_patient


@pytest.fixture
def people(site, other_site):
    return {
        "casey": make_patient(
            site, first_name="Casey", last_name="Sample", date_of_birth=date(1988, 4, 2)
        ),
        "pat": make_patient(
            site,
            first_name="Patricia",
            last_name="Placeholder",
            preferred_name="Pat",
            date_of_birth=date(1990, 1, 1),
        ),
        "mary": make_patient(
            site, first_name="Mary Ann", last_name="Van Sample", date_of_birth=date(1975, 12, 31)
        ),
        "gone": make_patient(
            site,
            first_name="Casey",
            last_name="Samplegone",
            date_of_birth=date(1988, 4, 2),
            is_active=False,
        ),
        "far": make_patient(
            other_site, first_name="Casey", last_name="Sample", date_of_birth=date(1988, 4, 2)
        ),
    }


def found(q: str, *, include_inactive: bool = False, site=None) -> list[str]:
    queryset = Patient.objects.filter(site=site) if site else Patient.objects.all()
    result = search_patients(queryset, q, include_inactive=include_inactive)
    return [f"{p.first_name} {p.last_name}" for p in result.patients]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("cas", ["Casey Sample"]),
        ("SAMP", ["Casey Sample"]),
        ("pat", ["Patricia Placeholder"]),  # preferred name
        ("Sample, Casey", ["Casey Sample"]),
        ("sample,ca", ["Casey Sample"]),
        ("Sample,", ["Casey Sample"]),
        ("Casey Sample", ["Casey Sample"]),
        ("  casey   sam ", ["Casey Sample"]),
        ("Sample Casey", ["Casey Sample"]),
        ("Pat Place", ["Patricia Placeholder"]),
        ("Mary Ann Van", ["Mary Ann Van Sample"]),
        ("Mary Van Sample", ["Mary Ann Van Sample"]),
        ("Van Sample, Mary", ["Mary Ann Van Sample"]),
        ("ample", []),  # a prefix search, not "contains"
        ("Zed", []),
        ("%", []),
        ("_", []),
    ],
)
def test_it_finds_patients_by_name_prefix(people, site, q, expected):
    assert found(q, site=site) == expected


def test_it_says_what_kind_of_search_it_was(people, site):
    queryset = Patient.objects.filter(site=site)
    assert search_patients(queryset, "Sample").kind == NAME
    assert search_patients(queryset, people["casey"].mrn.lower()).kind == MRN
    assert search_patients(queryset, "1988-04-02").kind == DOB
    invalid = search_patients(queryset, "02/30/1990")
    assert invalid.kind == INVALID and "not a real date" in invalid.error
    assert list(invalid.patients) == []


def test_it_finds_by_mrn_exact_prefix_number_and_any_case(people, site):
    casey = people["casey"]
    assert found(casey.mrn, site=site) == ["Casey Sample"]
    assert found(casey.mrn.lower(), site=site) == ["Casey Sample"]
    assert found(str(int(casey.mrn[2:])), site=site) == ["Casey Sample"]
    assert len(found("OI000000", site=site)) == 3  # every active patient of the site here
    assert found("OI9", site=site) == []


def test_it_finds_by_date_of_birth_in_both_formats(people, site):
    assert found("1975-12-31", site=site) == ["Mary Ann Van Sample"]
    assert found("12/31/1975", site=site) == ["Mary Ann Van Sample"]
    assert found("4/2/1988", site=site) == ["Casey Sample"]
    assert found("1975-02-31", site=site) == []


def test_it_leaves_out_inactive_patients_unless_asked(people, site):
    assert found("Casey", site=site) == ["Casey Sample"]
    assert found("Casey", site=site, include_inactive=True) == ["Casey Sample", "Casey Samplegone"]
    assert "Casey Samplegone" not in found("", site=site)


def test_it_orders_by_last_then_first_name(people, site):
    assert found("", site=site) == ["Patricia Placeholder", "Casey Sample", "Mary Ann Van Sample"]


def test_it_only_searches_the_queryset_it_was_given(people, site, other_site):
    assert found("Sample, Casey", site=other_site) == ["Casey Sample"]
    assert Patient.objects.get(last_name="Sample", site=other_site) == people["far"]
