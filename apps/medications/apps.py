from backend.apps import BoneSyncAppConfig


class MedicationsConfig(BoneSyncAppConfig):
    name = "apps.medications"
    label = "medications"
    receivers = True

    def register(self) -> None:
        from apps.medications import selectors
        from apps.medications.refill_reminders import RefillReminderSource
        from apps.medications.reminders import InjectionBookingReminderSource, MedicationReminderSource
        from apps.profiles.therapy import register_therapy_provider
        from backend.reminder_sources import register_reminder_source

        register_therapy_provider(selectors.current_bone_therapy)
        register_reminder_source(MedicationReminderSource())
        register_reminder_source(InjectionBookingReminderSource())
        register_reminder_source(RefillReminderSource())
