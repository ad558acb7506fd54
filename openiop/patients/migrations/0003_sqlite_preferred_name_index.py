from django.db import migrations

# A one-word search matches first, preferred or last name (an OR). SQLite serves an OR with
# indexes only when every branch has one; first_name_key and last_name_key have theirs from
# 0001, preferred_name_key had none, so the whole site was scanned (bench/patient_search.py:
# p95 289 ms → single-digit ms on 100,000 patients). PostgreSQL has the pattern-ops index on
# this column from 0002 already. Raw SQL so the model state (and makemigrations) is unchanged.


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS patient_preferred_key ON patients_patient (preferred_name_key)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute("DROP INDEX IF EXISTS patient_preferred_key")


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_search_indexes")]

    operations = [migrations.RunPython(create, drop)]
