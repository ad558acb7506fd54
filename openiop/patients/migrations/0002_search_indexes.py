from django.db import migrations

# PostgreSQL uses a b-tree index for LIKE 'abc%' only with the pattern operator class (the
# database's collation is not "C"); SQLite's plain indexes from 0001 serve it already.
INDEXES = {
    "patient_last_key_like": "last_name_key",
    "patient_first_key_like": "first_name_key",
    "patient_preferred_key_like": "preferred_name_key",
    "patient_mrn_like": "mrn",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX {name} ON patients_patient ({column} varchar_pattern_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
