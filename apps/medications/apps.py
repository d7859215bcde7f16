from django.apps import AppConfig


class MedicationsConfig(AppConfig):
    name = "apps.medications"
    label = "medications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.medications import receivers, selectors
        from apps.medications.reminders import InjectionBookingReminderSource, MedicationReminderSource
        from apps.profiles.therapy import register_therapy_provider
        from backend.reminder_sources import register_reminder_source

        receivers.connect()
        register_therapy_provider(selectors.current_bone_therapy)
        register_reminder_source(MedicationReminderSource())
        register_reminder_source(InjectionBookingReminderSource())
