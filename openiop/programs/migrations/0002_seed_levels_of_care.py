from decimal import Decimal

from django.db import migrations

# DOMAIN.md §1. Hours are weekly (adults); a ceiling of None means none. Outpatient is
# "below 9 h", stored as 8.9. Directors may edit every number: states and payers differ.
LEVELS = [
    # (edition, code, name, floor, ceiling, residential, order, description)
    (3, "1", "Outpatient", "0", "8.9", False, 10, "1–2 sessions a week; adults under 9 h"),
    (
        3,
        "2.1",
        "Intensive outpatient (IOP)",
        "9",
        "19",
        False,
        20,
        "Adults at least 9 h a week (Medicare 9–19 h); typically 9–12 h",
    ),
    (
        3,
        "2.5",
        "Partial hospitalization (PHP)",
        "20",
        None,
        False,
        30,
        "At least 20 h a week; typically 5–6 days, about 8 h a day",
    ),
    (3, "3.5", "Residential", "0", None, True, 40, "Lives at the facility; 24-hour structure"),
    (3, "3.7", "Medically monitored inpatient", "0", None, True, 50, "24/7 supervision"),
    (
        3,
        "4",
        "Medically managed intensive inpatient",
        "0",
        None,
        True,
        60,
        "24/7 medically managed care",
    ),
    (4, "1.5", "Outpatient therapy", "0", "8.9", False, 10, "Adults under 9 h a week"),
    (
        4,
        "2.1",
        "Intensive outpatient (IOP)",
        "9",
        "19",
        False,
        20,
        "Adults at least 9 h a week (Medicare 9–19 h); typically 9–12 h",
    ),
    (
        4,
        "2.5",
        "High-intensity outpatient",
        "20",
        None,
        False,
        30,
        "At least 20 h a week (formerly partial hospitalization)",
    ),
    (
        4,
        "3.1",
        "Clinically managed low-intensity residential",
        "0",
        None,
        True,
        40,
        "24-hour structure",
    ),
    (
        4,
        "3.5",
        "Clinically managed high-intensity residential",
        "0",
        None,
        True,
        45,
        "24-hour structure",
    ),
    (4, "3.7", "Medically managed residential", "0", None, True, 50, "24/7 supervision"),
    (
        4,
        "4",
        "Medically managed intensive inpatient",
        "0",
        None,
        True,
        60,
        "24/7 medically managed care",
    ),
]


def seed(apps, schema_editor):
    LevelOfCare = apps.get_model("programs", "LevelOfCare")
    for edition, code, name, floor, ceiling, residential, order, description in LEVELS:
        LevelOfCare.objects.update_or_create(
            code=code,
            edition=edition,
            defaults={
                "name": name,
                "weekly_hours_min": Decimal(floor),
                "weekly_hours_max": Decimal(ceiling) if ceiling is not None else None,
                "is_residential": residential,
                "sort_order": order,
                "description": description,
            },
        )


def unseed(apps, schema_editor):
    LevelOfCare = apps.get_model("programs", "LevelOfCare")
    for edition, code, *_ in LEVELS:
        LevelOfCare.objects.filter(code=code, edition=edition, programs__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("programs", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
