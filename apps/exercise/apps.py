from django.apps import AppConfig


class ExerciseConfig(AppConfig):
    name = "apps.exercise"
    label = "exercise"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.exercise.reminders import ExerciseReminderSource
        from backend.reminder_sources import register_reminder_source

        register_reminder_source(ExerciseReminderSource())
