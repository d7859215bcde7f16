from django.db import migrations

from backend.sync_versions import sync_triggers


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0001_initial"),
        ("backend", "0002_sync_versions"),
    ]

    operations = [
        # The synced columns (apps/sync/registry.py, table "appointments"): a change to any moves the row's version.
        sync_triggers(
            "appointments_appointment",
            watched=[
                "kind",
                "schedule_id",
                "starts_at",
                "location",
                "note",
                "status",
                "cancelled_at",
                "cancel_reason",
                "created_at",
                "updated_at",
            ],
        ),
    ]
