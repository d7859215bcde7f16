from django.apps import AppConfig


class MedicationsConfig(AppConfig):
    name = "apps.medications"
    label = "medications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from decimal import Decimal
        from typing import Any

        from django.db.models import Exists, OuterRef, QuerySet

        from apps.medications.models import Schedule, ScheduleStatus
        from apps.medications.selectors import current_bone_therapy, with_list_adherence
        from apps.medications.services import adherence_catch_up, patient_adherence_refresh, patient_injection_recheck
        from apps.profiles.hooks import on_timezone_changed, register_patient_filter, register_therapy_provider

        def adherence_below(rows: QuerySet[Any], threshold: Decimal) -> QuerySet[Any]:
            # The stored figure in force now: the same as GET .../adherence/?window=90 at this moment.
            adherence_catch_up()  # nothing to do unless the job has been down for a day
            low = with_list_adherence(
                Schedule.objects.filter(patient=OuterRef("pk"), status=ScheduleStatus.ACTIVE)
            ).filter(list_pdc__lt=threshold)
            return rows.filter(Exists(low))

        register_patient_filter("adherence_below", adherence_below)
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
