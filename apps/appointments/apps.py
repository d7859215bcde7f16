from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "apps.appointments"
    label = "appointments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.appointments import receivers
        from apps.appointments.reminders import AppointmentReminderSource
        from backend.reminder_sources import register_reminder_source

        receivers.connect()
        register_reminder_source(AppointmentReminderSource())
