"""The bone-directed therapy a patient is on (DOMAIN H2), which the bone-health assessment needs: the medications
app knows it, and profiles may not import medications, so medications registers its answer at start-up."""

from collections.abc import Callable
from datetime import date
from uuid import UUID

from apps.profiles.rules import CurrentTherapy

# (patient id, her local today) -> the bone-directed medicines she is on that day
TherapyProvider = Callable[[UUID, date], list[CurrentTherapy]]
_therapy_provider: TherapyProvider | None = None


def register_therapy_provider(provider: TherapyProvider) -> None:
    global _therapy_provider
    _therapy_provider = provider


def current_therapy(patient_id: UUID, today: date) -> list[CurrentTherapy]:
    if _therapy_provider is None:
        raise LookupError("No therapy provider registered: every patient would read as untreated.")  # DOMAIN H2
    return _therapy_provider(patient_id, today)
