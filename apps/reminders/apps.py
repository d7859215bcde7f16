from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "apps.reminders"
    label = "reminders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db import transaction

        from apps.medications import hooks
        from apps.medications.models import Schedule

        def refresh_patient_reminders(schedule: Schedule) -> None:
            from apps.reminders.materialise import materialise

            # After the change commits: the horizon follows a moved, paused or stopped schedule at once.
            transaction.on_commit(lambda: materialise(patient_ids=[schedule.patient_id]))

        hooks.on_schedule_changed(refresh_patient_reminders)
