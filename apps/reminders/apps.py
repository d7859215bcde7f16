import logging
from typing import Any

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

        from backend.reminder_sources import on_sources_changed

        def refresh_after_commit(patient_id: Any) -> None:
            from apps.reminders.materialise import materialise

            transaction.on_commit(lambda: materialise(patient_ids=[patient_id]))

        on_sources_changed(refresh_after_commit)  # supplement and exercise plans

        from apps.alerts import hooks as alert_hooks
        from apps.alerts.models import Alert

        def push_to_staff_after_commit(alert: Alert) -> None:
            from apps.reminders.tasks import push_staff_alerts_task

            # Enqueue once the alert is visible; if the broker is down the sweep job catches it up.
            def enqueue() -> None:
                try:
                    push_staff_alerts_task.delay()
                except Exception:  # broker unreachable: the periodic sweep will push it
                    logging.getLogger(__name__).warning("could not enqueue the staff push for alert %s", alert.pk)

            transaction.on_commit(enqueue)

        alert_hooks.on_alert_raised(push_to_staff_after_commit)

        from apps.accounts import hooks as account_hooks

        def remove_signed_out_devices(user_id: Any, device_id: str) -> None:
            from apps.reminders.devices import devices_signed_out

            devices_signed_out(user_id=user_id, device_id=device_id)

        account_hooks.on_signed_out(remove_signed_out_devices)
