"""Filters on the patient list that higher layers (alerts, adherence, calcium, exercise) register here at start-up,
profiles not importing them."""

from collections.abc import Callable
from typing import Any

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
