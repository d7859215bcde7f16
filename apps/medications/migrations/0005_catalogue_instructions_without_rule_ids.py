"""The catalogue's how-to-take instructions are read by patients: stored rows lose the rule ids ("(A1)") that
earlier text carried. Re-applies the catalogue's instructions (apps/medications/catalogue.py) to the seeded rows."""

from django.db import migrations


def forwards(apps, schema_editor):
    from apps.medications.catalogue import CATALOGUE, catalogue_id

    Medication = apps.get_model("medications", "Medication")
    for entry in CATALOGUE:
        Medication.objects.filter(id=catalogue_id(entry["code"])).update(instructions=entry["instructions"])


class Migration(migrations.Migration):
    dependencies = [("medications", "0004_sync_versions")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
