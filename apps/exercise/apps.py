from django.apps import AppConfig


class ExerciseConfig(AppConfig):
    name = "apps.exercise"
    label = "exercise"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.exercise.reminders import ExerciseReminderSource
        from apps.exercise.selectors import filter_exercise_below
        from apps.profiles.hooks import register_patient_filter
        from backend.reminder_sources import register_reminder_source

        register_reminder_source(ExerciseReminderSource())
        register_patient_filter("exercise_below", filter_exercise_below)
