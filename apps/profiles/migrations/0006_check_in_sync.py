from django.db import migrations

from backend.sync_versions import sync_triggers

# The profile's synced columns up to 0005, and with her check-in reminder day and time (issue 15): a change to any
# of them moves the row's sync version, so her app learns a day or time changed on another device or by her team.
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
    "updated_at",
]
AFTER = [*BEFORE[:-1], "check_in_weekday", "check_in_time", "updated_at"]


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0005_ai_course_and_check_in_time"),
    ]

    operations = [
        migrations.RunPython(
            sync_triggers("profiles_patientprofile", watched=AFTER, pk="patient_id").code,
            sync_triggers("profiles_patientprofile", watched=BEFORE, pk="patient_id").code,
        ),
    ]
