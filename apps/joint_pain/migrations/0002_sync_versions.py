from django.db import migrations, models

from backend.sync_versions import sync_triggers


class Migration(migrations.Migration):
    dependencies = [
        ("joint_pain", "0001_initial"),
        ("backend", "0002_sync_versions"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="jointpaincheckin",
            index=models.Index(fields=["patient", "version"], name="joint_pain_sync_idx"),
        ),
        # The synced columns (apps/sync/registry.py, table "joint_pain_check_ins"): a change to any moves the row's
        # version; a delete (a check-in replaced by the same week's next one) leaves the tombstone her app receives.
        sync_triggers(
            "joint_pain_jointpaincheckin",
            watched=[
                "answered_at",
                "week_of",
                "worst_pain",
                "stiffness",
                "interfered",
                "ai_impact",
                "created_at",
                "updated_at",
            ],
        ),
    ]
