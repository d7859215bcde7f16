from django.db import migrations

from backend.sync_versions import sync_triggers

# The profile's synced columns up to 0006, and with her AI course (issue 15: planned length, a recorded stop and its
# reason, read-only to the app): a stop recorded by her care team reaches her app on its next pull.
BEFORE = [
    "birth_date",
    "timezone",
    "aromatase_inhibitor",
    "ai_started_on",
    "height_cm",
    "weight_kg",
    "smoker",
    "family_hip_fracture",
    "prior_fragility_fracture",
    "oral_corticosteroids_months",
    "prior_skeletal_radiation",
    "bone_metastases",
    "cannot_stay_upright",
    "esophageal_disorder",
    "quiet_hours_start",
    "quiet_hours_end",
    "push_detail_opt_in",
    "check_in_weekday",
    "check_in_time",
    "updated_at",
]
AFTER = [*BEFORE[:4], "ai_planned_years", "ai_planned_end_on", "ai_stopped_on", "ai_stop_reason", *BEFORE[4:]]


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0006_check_in_sync"),
    ]

    operations = [
        migrations.RunPython(
            sync_triggers("profiles_patientprofile", watched=AFTER, pk="patient_id").code,
            sync_triggers("profiles_patientprofile", watched=BEFORE, pk="patient_id").code,
        ),
    ]
