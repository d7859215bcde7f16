from django.db import migrations


def load(apps, schema_editor):
    from apps.medications.catalogue import catalogue_sync

    catalogue_sync(apps.get_model("medications", "Medication"))


class Migration(migrations.Migration):
    dependencies = [("medications", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
