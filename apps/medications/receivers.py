"""What the medications layer does when profiles announces something (backend.events), subscribed by
MedicationsConfig.ready. All run in the writer's transaction: see backend.events for why each must."""

from apps.medications.services import (
    ai_schedules_stop,
    patient_adherence_refresh,
    patient_injection_recheck,
    review_recheck,
)
from backend.events import AiCourseStopped, ProfileChanged, ResultRecorded, subscribe


def connect() -> None:
    subscribe(ProfileChanged, recheck_reviews, in_transaction=True)
    subscribe(ResultRecorded, recheck_reviews, in_transaction=True)
    subscribe(ProfileChanged, follow_new_timezone, in_transaction=True)
    subscribe(AiCourseStopped, stop_ai_schedules, in_transaction=True)


def recheck_reviews(event: ProfileChanged | ResultRecorded) -> None:
    """A new lab or contraindication can give a verified schedule a finding: back to the pharmacist."""
    review_recheck(patient_id=event.patient_id)


def follow_new_timezone(event: ProfileChanged) -> None:
    """Her local dates moved: the stored adherence figures (DOMAIN P1) and the injection watch's next check."""
    if "timezone" in event.changed:
        patient_adherence_refresh(patient_id=event.patient_id)
        patient_injection_recheck(patient_id=event.patient_id)


def stop_ai_schedules(event: AiCourseStopped) -> None:
    """She stopped her aromatase inhibitor: its schedules stop as of that day, so its reminders stop (issue 15)."""
    ai_schedules_stop(patient_id=event.patient_id, stopped_on=event.stopped_on)
