from __future__ import annotations

import importlib
from types import ModuleType

import pytest
from django.apps import apps as django_apps
from django.db import connection
from hypothesis import settings as hypothesis_settings

from openiop.accounts.roles import Role
from openiop.audit import triggers as audit_triggers
from openiop.clinical import triggers as clinical_triggers
from openiop.measures import triggers as measures_triggers
from tests.factories import make_site, make_user

# Property tests judge correctness, not speed: a loaded machine (CI, parallel work) must not
# fail them on Hypothesis's per-example deadline.
hypothesis_settings.register_profile("openiop", deadline=None)
hypothesis_settings.load_profile("openiop")


@pytest.fixture
def site(db):
    return make_site("Testville Clinic")


@pytest.fixture
def other_site(db):
    return make_site("Elsewhere Recovery Center", "America/Denver")


@pytest.fixture
def dana(site):
    """Director Dana Testperson."""
    return make_user(
        "dana", site=site, role=Role.DIRECTOR, first_name="Dana", last_name="Testperson"
    )


@pytest.fixture
def tom(site):
    """Therapist Tom Fakename."""
    return make_user(
        "tom",
        site=site,
        role=Role.THERAPIST,
        first_name="Tom",
        last_name="Fakename",
        credentials="LCSW",
    )


@pytest.fixture
def audrey(site):
    """Auditor Audrey Sampleton."""
    return make_user(
        "audrey", site=site, role=Role.AUDITOR, first_name="Audrey", last_name="Sampleton"
    )


@pytest.fixture
def oscar(other_site):
    """Oscar Outsider, a director at another site, who must never see our site's data."""
    return make_user(
        "oscar", site=other_site, role=Role.DIRECTOR, first_name="Oscar", last_name="Outsider"
    )


def purge_protected_rows(triggers: ModuleType, tables: list[str]) -> None:
    """Empty tables whose rows the database protects (``triggers``' statements), children
    first, so that a transactional test's flush can run: the triggers are dropped, the rows
    deleted and the triggers restored. Only tests do this."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        for statement in triggers.remove_statements(vendor):
            cursor.execute(statement)
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are constants
        for statement in triggers.install_statements(vendor):
            cursor.execute(statement)


def purge_measure_rows() -> None:
    purge_protected_rows(measures_triggers, measures_triggers.ALL_TABLES_CHILD_FIRST)


def purge_audit_rows() -> None:
    purge_protected_rows(audit_triggers, [audit_triggers.TABLE])


def purge_clinical_rows() -> None:
    purge_protected_rows(clinical_triggers, clinical_triggers.ALL_TABLES_CHILD_FIRST)


# Reference data that migrations seed; a transactional test's flush empties these tables.
REFERENCE_SEEDS = (
    "openiop.programs.migrations.0002_seed_levels_of_care",
    "openiop.scheduling.migrations.0002_seed_group_types",
    "openiop.scheduling.migrations.0004_seed_curriculum_modules",
    "openiop.screening.migrations.0002_seed_default_panel",
)


def reseed_reference_data() -> None:
    for module in REFERENCE_SEEDS:
        importlib.import_module(module).seed(django_apps, None)


@pytest.fixture
def transactional_db(transactional_db):
    reseed_reference_data()
    yield transactional_db
    purge_measure_rows()
    purge_clinical_rows()
    purge_audit_rows()


@pytest.fixture
def live_server(live_server, transactional_db):
    yield live_server
