from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection

from openiop.accounts.roles import Role
from openiop.audit.triggers import install_statements, remove_statements
from openiop.clinical import triggers as clinical_triggers
from tests.factories import make_site, make_user


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


def purge_audit_rows() -> None:
    """Empty the append-only audit table so a transactional test's flush can run.

    Only tests do this: the triggers are dropped, the rows deleted and the triggers restored.
    """
    vendor = connection.vendor
    with connection.cursor() as cursor:
        for statement in remove_statements(vendor):
            cursor.execute(statement)
        cursor.execute("DELETE FROM audit_auditevent")
        for statement in install_statements(vendor):
            cursor.execute(statement)


def purge_clinical_rows() -> None:
    """Empty the clinical tables whose signed or append-only rows the database protects, so
    that a transactional test's flush (DELETE on SQLite) can run. Tests only."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        for statement in clinical_triggers.remove_statements(vendor):
            cursor.execute(statement)
        for table in clinical_triggers.ALL_TABLES_CHILD_FIRST:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are constants
        for statement in clinical_triggers.install_statements(vendor):
            cursor.execute(statement)


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
    purge_clinical_rows()
    purge_audit_rows()


@pytest.fixture
def live_server(live_server, transactional_db):
    yield live_server
