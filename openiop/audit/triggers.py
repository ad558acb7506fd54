"""SQL that makes the audit table append-only in the database itself.

Neither the ORM, the admin nor raw SQL can change history: UPDATE and DELETE (and, on
PostgreSQL, TRUNCATE of a non-empty table) raise. Used by the migration that installs them.
"""

from __future__ import annotations

TABLE = "audit_auditevent"
MESSAGE = "audit events are append-only"

SQLITE_INSTALL = [
    f"CREATE TRIGGER audit_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    f"CREATE TRIGGER audit_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_no_update;",
    "DROP TRIGGER IF EXISTS audit_no_delete;",
]

POSTGRES_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION audit_reject_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
    """,
    # An empty table may be truncated: it changes no history, and test databases are
    # flushed with TRUNCATE between transactional tests.
    """
    CREATE OR REPLACE FUNCTION audit_reject_truncate() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM audit_auditevent) THEN
            RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION audit_reject_change();",
    f"CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_truncate();",
]
POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS audit_no_change ON {TABLE};",
    f"DROP TRIGGER IF EXISTS audit_no_truncate ON {TABLE};",
    "DROP FUNCTION IF EXISTS audit_reject_change();",
    "DROP FUNCTION IF EXISTS audit_reject_truncate();",
]


def install_statements(vendor: str) -> list[str]:
    return {"sqlite": SQLITE_INSTALL, "postgresql": POSTGRES_INSTALL}[vendor]


def remove_statements(vendor: str) -> list[str]:
    return {"sqlite": SQLITE_REMOVE, "postgresql": POSTGRES_REMOVE}[vendor]
