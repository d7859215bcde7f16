from backend.apps import BoneSyncAppConfig


class ExerciseConfig(BoneSyncAppConfig):
    name = "apps.exercise"
    label = "exercise"

    def register(self) -> None:
        from apps.exercise.reminders import ExerciseReminderSource
        from backend.reminder_sources import register_reminder_source

        register_reminder_source(ExerciseReminderSource())
