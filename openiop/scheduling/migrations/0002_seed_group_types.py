from django.db import migrations

# DOMAIN.md §2: the group therapies the seed article names, plus the life-skills groups.
GROUP_TYPES = [
    ("cbt", "CBT", "Cognitive behavioral therapy: thoughts, feelings and behaviors"),
    ("dbt", "DBT", "Dialectical behavior therapy: distress tolerance and emotion regulation"),
    ("process", "Process group", "Members share and work through current struggles"),
    ("skills", "Skills group", "Practical coping and communication skills"),
    ("psychoeducation", "Psychoeducation", "Addiction, recovery and mental health explained"),
    ("life_skills", "Life skills", "Stress, conflict, work and daily structure"),
    ("relapse_prevention", "Relapse prevention", "Triggers, cravings and warning signs"),
    ("family", "Family group", "Family members and supports join the work"),
]


def seed(apps, schema_editor):
    GroupType = apps.get_model("scheduling", "GroupType")
    for code, name, description in GROUP_TYPES:
        GroupType.objects.update_or_create(
            code=code, defaults={"name": name, "description": description}
        )


def unseed(apps, schema_editor):
    GroupType = apps.get_model("scheduling", "GroupType")
    GroupType.objects.filter(code__in=[code for code, _, _ in GROUP_TYPES]).delete()


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
