"""What profiles learns from higher layers without importing them, registered here at start-up: the bone-directed
therapy a patient is on (medications), the handlers told when a patient's clinical facts (labs, contraindications in
her profile) change, which the pharmacist's checks read, and those told when her time zone changes (her local dates
move: figures stored per local day are recomputed). The patient list's filters are not here: the caseload, above
every app it filters by, imports them (apps/caseload)."""

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from apps.profiles.rules import CurrentTherapy

# (patient id, her local today) -> the bone-directed medicines she is on that day
TherapyProvider = Callable[[UUID, date], list[CurrentTherapy]]
_therapy_providers: list[TherapyProvider] = []
PatientHandler = Callable[[Any], None]
_timezone_changed: list[PatientHandler] = []


def on_timezone_changed(handler: PatientHandler) -> PatientHandler:
    if handler not in _timezone_changed:
        _timezone_changed.append(handler)
    return handler


def timezone_changed(patient: Any) -> None:
    """Runs inside the writer's transaction."""
    for handler in _timezone_changed:
        handler(patient)


def register_therapy_provider(provider: TherapyProvider) -> None:
    """The medications app tells the bone-health assessment (DOMAIN H2) which bone-directed schedules are active."""
    if provider not in _therapy_providers:
        _therapy_providers.append(provider)


def current_therapy(patient_id: UUID, today: date) -> list[CurrentTherapy]:
    return [item for provider in _therapy_providers for item in provider(patient_id, today)]


FactsHandler = Callable[[UUID], None]
_facts_changed: list[FactsHandler] = []


def on_clinical_facts_changed(handler: FactsHandler) -> FactsHandler:
    if handler not in _facts_changed:
        _facts_changed.append(handler)
    return handler


def clinical_facts_changed(patient_id: UUID) -> None:
    """Runs inside the writer's transaction."""
    for handler in _facts_changed:
        handler(patient_id)
