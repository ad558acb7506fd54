from django.db import migrations

from openiop.screening.catalog import DEFAULT_PANEL

# DOMAIN.md §7: federal workplace cutoffs as the default reference, plus the clinical analytes
# (buprenorphine, norbuprenorphine, methadone, EDDP, benzodiazepines, barbiturates, EtG).
# Directors add panels per test kit or lab beside it.
PANEL_NAME = "Default urine panel"


def seed(apps, schema_editor):
    Panel = apps.get_model("screening", "Panel")
    PanelAnalyte = apps.get_model("screening", "PanelAnalyte")
    Settings = apps.get_model("screening", "ScreeningSettings")
    panel, created = Panel.objects.get_or_create(
        name=PANEL_NAME,
        defaults={
            "specimen": "urine",
            "is_default": True,
            "description": "Federal workplace cutoffs plus the clinical analytes (ng/mL).",
        },
    )
    if created:
        PanelAnalyte.objects.bulk_create(
            PanelAnalyte(
                panel=panel,
                analyte=entry.analyte,
                screen_cutoff=entry.screen_cutoff,
                confirm_cutoff=entry.confirm_cutoff,
            )
            for entry in DEFAULT_PANEL
        )
    Settings.objects.get_or_create(pk=1)


def unseed(apps, schema_editor):
    apps.get_model("screening", "Panel").objects.filter(name=PANEL_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("screening", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
