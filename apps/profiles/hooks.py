"""Filters on the patient list that belong to higher layers (alerts, adherence) register here at start-up, so
the list can offer them without this layer importing those apps; and so do the handlers told when a patient's
clinical facts (labs, contraindications in her profile) change, which the pharmacist's checks read."""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.db.models import QuerySet

PatientFilter = Callable[[QuerySet[Any], Any], QuerySet[Any]]
_patient_filters: dict[str, PatientFilter] = {}


def register_patient_filter(name: str, apply: PatientFilter) -> None:
    _patient_filters[name] = apply


def apply_patient_filters(rows: QuerySet[Any], values: dict[str, Any]) -> QuerySet[Any]:
    for name, value in values.items():
        if value is not None and name in _patient_filters:
            rows = _patient_filters[name](rows, value)
    return rows


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
