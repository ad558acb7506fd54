from django.db import migrations

# Issue 4 §6 and DOMAIN.md §2: the life-skills modules the seed article names. Directors add
# their own beside these.
MODULES = [
    ("relapse_prevention", "Relapse prevention", "Triggers, warning signs and a plan for each", 10),
    ("managing_cravings", "Managing cravings", "Urge surfing, delay and distraction", 20),
    ("stress_management", "Stress management", "Recognizing stress and coping without using", 30),
    ("conflict_resolution", "Conflict resolution", "Communicating needs and settling disputes", 40),
    (
        "sober_support_system",
        "Building a sober support system",
        "Finding and keeping people and groups who support recovery",
        50,
    ),
]


def seed(apps, schema_editor):
    CurriculumModule = apps.get_model("scheduling", "CurriculumModule")
    for code, name, description, sort_order in MODULES:
        CurriculumModule.objects.update_or_create(
            code=code,
            defaults={"name": name, "description": description, "sort_order": sort_order},
        )


def unseed(apps, schema_editor):
    CurriculumModule = apps.get_model("scheduling", "CurriculumModule")
    CurriculumModule.objects.filter(code__in=[code for code, _, _, _ in MODULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0003_curriculum_modules")]

    operations = [migrations.RunPython(seed, unseed)]
