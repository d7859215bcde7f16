from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "apps.appointments"
    label = "appointments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.appointments import receivers, selectors
        from apps.appointments.reminders import AppointmentReminderSource
        from apps.medications.reminders import register_booked_schedules
        from backend.reminder_sources import register_reminder_source

        receivers.connect()
        register_booked_schedules(selectors.booked_schedule_ids)
        register_reminder_source(AppointmentReminderSource())
