"""SQL that makes signed clinical records immutable in the database itself.

Neither the ORM, a bulk update, nor raw SQL can change a signed record:

* a signed note or treatment plan cannot be updated or deleted (a draft can);
* nothing can be inserted into, changed in or removed from the parts of a signed note (its
  group entries and goal links) or of a signed plan (problems, goals, objectives,
  interventions);
* addenda, co-signatures, plan acknowledgements, relapse-prevention plan versions and the
  disclosure log are append-only.

Installed by this app's migration; the test suite removes and re-installs them around the
flush of a transactional test (see ``tests/conftest.py``).
"""

from __future__ import annotations

NOTE_MESSAGE = "signed notes are immutable; add an addendum instead"
PLAN_MESSAGE = "signed treatment plans are immutable; start a review instead"
APPEND_ONLY_MESSAGE = "this record is append-only"

# Tables with their own status column: frozen once status = 'signed'.
SIGNED_TABLES = {
    "clinical_note": NOTE_MESSAGE,
    "clinical_treatmentplan": PLAN_MESSAGE,
}
# Parts of a signed record: (table, foreign-key column, parent table).
CHILD_TABLES = [
    ("clinical_groupnoteentry", "note_id", "clinical_note"),
    ("clinical_entrygoal", "note_id", "clinical_note"),
    ("clinical_notegoal", "note_id", "clinical_note"),
    ("clinical_planproblem", "plan_id", "clinical_treatmentplan"),
    ("clinical_plangoal", "plan_id", "clinical_treatmentplan"),
    ("clinical_planobjective", "plan_id", "clinical_treatmentplan"),
    ("clinical_planintervention", "plan_id", "clinical_treatmentplan"),
]
APPEND_ONLY_TABLES = [
    "clinical_addendum",
    "clinical_cosignature",
    "clinical_planacknowledgement",
    "clinical_relapsepreventionplan",
    "clinical_disclosure",
]
# Every table above, children before parents (for the test suite's purge).
ALL_TABLES_CHILD_FIRST = [
    "clinical_entrygoal",
    "clinical_notegoal",
    "clinical_groupnoteentry",
    "clinical_addendum",
    "clinical_cosignature",
    "clinical_note",
    "clinical_planacknowledgement",
    "clinical_planintervention",
    "clinical_planobjective",
    "clinical_plangoal",
    "clinical_planproblem",
    "clinical_treatmentplan",
    "clinical_relapsepreventionplan",
    "clinical_disclosure",
]


def _message_for(parent: str) -> str:
    return SIGNED_TABLES[parent]


def _sqlite_install() -> list[str]:
    statements = []
    for table, message in SIGNED_TABLES.items():
        for event in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_signed_no_{event.lower()} BEFORE {event} ON {table} "
                f"WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, '{message}'); END;"
            )
    for table, column, parent in CHILD_TABLES:
        message = _message_for(parent)

        def parent_signed(row: str, column: str = column, parent: str = parent) -> str:
            # Table and column names are the constants above.
            return f"(SELECT status FROM {parent} WHERE id = {row}.{column}) = 'signed'"  # noqa: S608

        conditions = {
            "INSERT": parent_signed("NEW"),
            "UPDATE": f"{parent_signed('OLD')} OR {parent_signed('NEW')}",
            "DELETE": parent_signed("OLD"),
        }
        for event, condition in conditions.items():
            statements.append(
                f"CREATE TRIGGER {table}_signed_no_{event.lower()} BEFORE {event} ON {table} "
                f"WHEN {condition} BEGIN SELECT RAISE(ABORT, '{message}'); END;"
            )
    for table in APPEND_ONLY_TABLES:
        for event in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END;"
            )
    return statements


def _sqlite_remove() -> list[str]:
    statements = []
    for table in SIGNED_TABLES:
        for event in ("update", "delete"):
            statements.append(f"DROP TRIGGER IF EXISTS {table}_signed_no_{event};")
    for table, _column, _parent in CHILD_TABLES:
        for event in ("insert", "update", "delete"):
            statements.append(f"DROP TRIGGER IF EXISTS {table}_signed_no_{event};")
    for table in APPEND_ONLY_TABLES:
        for event in ("update", "delete"):
            statements.append(f"DROP TRIGGER IF EXISTS {table}_no_{event};")
    return statements


_PG_FUNCTIONS = [
    """
    CREATE OR REPLACE FUNCTION clinical_reject() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
    """,
    # TG_ARGV: parent table, foreign-key column, message. (No percent signs in this SQL:
    # the migration runs it through the driver's parameter formatting.)
    """
    CREATE OR REPLACE FUNCTION clinical_reject_if_parent_signed() RETURNS trigger AS $$
    DECLARE
        parent_status text;
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            EXECUTE 'SELECT status FROM ' || quote_ident(TG_ARGV[0]) || ' WHERE id = $1'
                INTO parent_status USING (to_jsonb(OLD) ->> TG_ARGV[1])::bigint;
            IF parent_status = 'signed' THEN
                RAISE EXCEPTION USING MESSAGE = TG_ARGV[2], ERRCODE = 'insufficient_privilege';
            END IF;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            EXECUTE 'SELECT status FROM ' || quote_ident(TG_ARGV[0]) || ' WHERE id = $1'
                INTO parent_status USING (to_jsonb(NEW) ->> TG_ARGV[1])::bigint;
            IF parent_status = 'signed' THEN
                RAISE EXCEPTION USING MESSAGE = TG_ARGV[2], ERRCODE = 'insufficient_privilege';
            END IF;
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,
]


def _postgres_install() -> list[str]:
    statements = list(_PG_FUNCTIONS)
    for table, message in SIGNED_TABLES.items():
        statements.append(
            f"CREATE TRIGGER {table}_signed_frozen BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW WHEN (OLD.status = 'signed') "
            f"EXECUTE FUNCTION clinical_reject('{message}');"
        )
    for table, column, parent in CHILD_TABLES:
        message = _message_for(parent)
        statements.append(
            f"CREATE TRIGGER {table}_signed_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION "
            f"clinical_reject_if_parent_signed('{parent}', '{column}', '{message}');"
        )
    for table in APPEND_ONLY_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION clinical_reject('{APPEND_ONLY_MESSAGE}');"
        )
    return statements


def _postgres_remove() -> list[str]:
    statements = []
    for table in SIGNED_TABLES:
        statements.append(f"DROP TRIGGER IF EXISTS {table}_signed_frozen ON {table};")
    for table, _column, _parent in CHILD_TABLES:
        statements.append(f"DROP TRIGGER IF EXISTS {table}_signed_frozen ON {table};")
    for table in APPEND_ONLY_TABLES:
        statements.append(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    statements += [
        "DROP FUNCTION IF EXISTS clinical_reject();",
        "DROP FUNCTION IF EXISTS clinical_reject_if_parent_signed();",
    ]
    return statements


def install_statements(vendor: str) -> list[str]:
    return {"sqlite": _sqlite_install, "postgresql": _postgres_install}[vendor]()


def remove_statements(vendor: str) -> list[str]:
    return {"sqlite": _sqlite_remove, "postgresql": _postgres_remove}[vendor]()
