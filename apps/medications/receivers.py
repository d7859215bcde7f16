"""What the medications layer does when profiles announces something (backend.events), subscribed by
MedicationsConfig.ready. All run in the writer's transaction: see backend.events for why each must."""

from apps.medications.services import patient_adherence_refresh, patient_injection_recheck, review_recheck
from backend.events import ProfileChanged, ResultRecorded, subscribe


def connect() -> None:
    subscribe(ProfileChanged, recheck_reviews, in_transaction=True)
    subscribe(ResultRecorded, recheck_reviews, in_transaction=True)
    subscribe(ProfileChanged, follow_new_timezone, in_transaction=True)


def recheck_reviews(event: ProfileChanged | ResultRecorded) -> None:
    """A new lab or contraindication can give a verified schedule a finding: back to the pharmacist."""
    review_recheck(patient_id=event.patient_id)


def follow_new_timezone(event: ProfileChanged) -> None:
    """Her local dates moved: the stored adherence figures (DOMAIN P1) and the injection watch's next check."""
    if "timezone" in event.changed:
        patient_adherence_refresh(patient_id=event.patient_id)
        patient_injection_recheck(patient_id=event.patient_id)
