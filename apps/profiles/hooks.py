"""Filters on the patient list that belong to higher layers (alerts, adherence) register here at start-up, so
the list can offer them without this layer importing those apps; and handlers of a patient's time zone change (her
local dates move: figures stored per local day are recomputed)."""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

PatientFilter = Callable[[QuerySet[Any], Any], QuerySet[Any]]
_patient_filters: dict[str, PatientFilter] = {}
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


def register_patient_filter(name: str, apply: PatientFilter) -> None:
    _patient_filters[name] = apply


def apply_patient_filters(rows: QuerySet[Any], values: dict[str, Any]) -> QuerySet[Any]:
    for name, value in values.items():
        if value is not None and name in _patient_filters:
            rows = _patient_filters[name](rows, value)
    return rows
