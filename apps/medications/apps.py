from django.apps import AppConfig


class MedicationsConfig(AppConfig):
    name = "apps.medications"
    label = "medications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.medications.selectors import current_bone_therapy
        from apps.medications.services import patient_adherence_refresh, patient_injection_recheck
        from apps.profiles.hooks import on_timezone_changed, register_therapy_provider

        register_therapy_provider(current_bone_therapy)
        on_timezone_changed(patient_adherence_refresh)
        on_timezone_changed(patient_injection_recheck)

        from uuid import UUID

        from apps.medications.services import review_recheck
        from apps.profiles.hooks import on_clinical_facts_changed

        @on_clinical_facts_changed
        def recheck_reviews(patient_id: UUID) -> None:
            # A new lab or contraindication can give a verified schedule a finding: back to the pharmacist.
            review_recheck(patient_id=patient_id)

        from apps.medications.reminders import InjectionBookingReminderSource, MedicationReminderSource
        from backend.reminder_sources import register_reminder_source

        register_reminder_source(MedicationReminderSource())
        register_reminder_source(InjectionBookingReminderSource())
