"""SQL that keeps measurement records as they were entered, in the database itself.

* questionnaire responses, their strikes and the versions of a program's placement rule
  table are append-only;
* a placement assessment is never deleted and is frozen once its decision (level provided)
  is recorded;
* a level review is never deleted and is frozen once decided (accepted, dismissed, closed).

Installed by this app's migration; the test suite removes and re-installs them around the
flush of a transactional test (see ``tests/conftest.py``).
"""

from __future__ import annotations

APPEND_ONLY_MESSAGE = "this record is append-only"
DECIDED_MESSAGE = "a decided record is immutable"

APPEND_ONLY_TABLES = [
    "measures_measurestrike",
    "measures_measureresponse",
    "measures_placementruletable",
]
# Table → SQL condition on OLD under which an UPDATE is refused.
FROZEN_WHEN = {
    "measures_placementassessment": "OLD.provided_level <> ''",
    "measures_levelreview": "OLD.state <> 'open'",
}
# Every protected table, children before parents (for the test suite's purge).
ALL_TABLES_CHILD_FIRST = [
    "measures_measurestrike",
    "measures_levelreview",
    "measures_placementassessment",
    "measures_measureresponse",
    "measures_placementruletable",
]


def _sqlite_install() -> list[str]:
    statements = []
    for table in APPEND_ONLY_TABLES:
        for event in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END;"
            )
    for table, condition in FROZEN_WHEN.items():
        statements.append(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END;"
        )
        statements.append(
            f"CREATE TRIGGER {table}_decided_no_update BEFORE UPDATE ON {table} "
            f"WHEN {condition} BEGIN SELECT RAISE(ABORT, '{DECIDED_MESSAGE}'); END;"
        )
    return statements


def _sqlite_remove() -> list[str]:
    statements = []
    for table in APPEND_ONLY_TABLES:
        for event in ("update", "delete"):
            statements.append(f"DROP TRIGGER IF EXISTS {table}_no_{event};")
    for table in FROZEN_WHEN:
        statements.append(f"DROP TRIGGER IF EXISTS {table}_no_delete;")
        statements.append(f"DROP TRIGGER IF EXISTS {table}_decided_no_update;")
    return statements


_PG_FUNCTION = """
    CREATE OR REPLACE FUNCTION measures_reject() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
"""


def _postgres_install() -> list[str]:
    statements = [_PG_FUNCTION]
    for table in APPEND_ONLY_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION measures_reject('{APPEND_ONLY_MESSAGE}');"
        )
    for table, condition in FROZEN_WHEN.items():
        statements.append(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION measures_reject('{APPEND_ONLY_MESSAGE}');"
        )
        statements.append(
            f"CREATE TRIGGER {table}_decided_frozen BEFORE UPDATE ON {table} "
            f"FOR EACH ROW WHEN ({condition}) "
            f"EXECUTE FUNCTION measures_reject('{DECIDED_MESSAGE}');"
        )
    return statements


def _postgres_remove() -> list[str]:
    statements = []
    for table in APPEND_ONLY_TABLES:
        statements.append(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    for table in FROZEN_WHEN:
        statements.append(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table};")
        statements.append(f"DROP TRIGGER IF EXISTS {table}_decided_frozen ON {table};")
    statements.append("DROP FUNCTION IF EXISTS measures_reject();")
    return statements


def install_statements(vendor: str) -> list[str]:
    return {"sqlite": _sqlite_install, "postgresql": _postgres_install}[vendor]()


def remove_statements(vendor: str) -> list[str]:
    return {"sqlite": _sqlite_remove, "postgresql": _postgres_remove}[vendor]()
