"""The audit table is append-only in the database itself, whichever way a change is tried.

Every refused statement runs in its own ``transaction.atomic()`` so that PostgreSQL rolls back
to a savepoint and the test can still read the row afterwards.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, models, transaction

from openiop.audit.models import Action, AuditEvent
from openiop.audit.services import record_event


@pytest.fixture
def event(site, dana):
    return record_event(
        action=Action.VIEW, actor=dana, site=site, patient_id=41, detail="opened the chart"
    )


def assert_unchanged(event: AuditEvent) -> None:
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.detail, stored.action, stored.patient_id, stored.occurred_at) == (
        "opened the chart",
        Action.VIEW,
        41,
        event.occurred_at,
    )


def test_it_still_appends(event):
    record_event(action=Action.LOGOUT, actor_username="someone", detail="signed out")

    assert AuditEvent.objects.count() == 2


def test_it_refuses_saving_a_changed_instance(event):
    event.detail = "nothing to see"

    with pytest.raises(PermissionError), transaction.atomic():
        event.save()

    assert_unchanged(event)


def test_it_refuses_saving_even_when_the_model_check_is_skipped(event):
    event.detail = "nothing to see"

    # models.Model.save goes straight to an UPDATE, so only the trigger stands in the way.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        models.Model.save(event)

    assert_unchanged(event)


def test_it_refuses_queryset_update(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(detail="nothing to see")

    assert_unchanged(event)


def test_it_refuses_bulk_update(event):
    event.detail = "nothing to see"

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["detail"])

    assert_unchanged(AuditEvent.objects.get(pk=event.pk))


def test_it_refuses_instance_delete(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.delete()

    assert_unchanged(event)


def test_it_refuses_queryset_delete(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()

    assert_unchanged(event)


def test_it_refuses_raw_sql_update(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE audit_auditevent SET detail = %s WHERE id = %s", ["nothing", event.pk]
        )

    assert_unchanged(event)


def test_it_refuses_raw_sql_delete(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])

    assert_unchanged(event)


def test_it_refuses_raw_sql_delete_of_the_whole_table(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent")

    assert_unchanged(event)


def test_it_refuses_truncate_of_a_non_empty_table_on_postgresql(event):
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only; SQLite's DELETE is tested above")

    with connection.cursor() as cursor:
        # The row was inserted in this test's transaction, so its deferred foreign-key checks
        # are still pending and PostgreSQL would refuse TRUNCATE for that reason alone. Run
        # them now, so that only the append-only trigger can refuse.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_auditevent")

    assert_unchanged(event)
