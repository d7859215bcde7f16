"""The caseload's one read: patients in the user's scope, searched by name or email, narrowed by named filters."""

from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import QuerySet

from apps.accounts.models import Patient, User
from apps.accounts.selectors import patient_list, patient_search
from apps.alerts.selectors import filter_alert_level
from apps.exercise.selectors import filter_exercise_below
from apps.medications.selectors import filter_adherence_below, filter_ai_adherence_below, filter_injection_state
from apps.supplements.selectors import calcium_below

PatientFilter = Callable[[QuerySet[Patient], Any], QuerySet[Patient]]

# Every filter a patient list offers, by the name the API's query parameter and the console's form field carry.
FILTERS: Mapping[str, PatientFilter] = {
    "alert_level": filter_alert_level,  # an open alert of this severity or higher
    "adherence_below": filter_adherence_below,  # a stored 90-day PDC below this (reads the stored figure)
    "ai_adherence_below": filter_ai_adherence_below,  # the same, of her aromatase inhibitor only (issue 15)
    "calcium_below": calcium_below,  # mg/day, diet + supplements, last 7 days
    "exercise_below": filter_exercise_below,  # weight-bearing minutes, last 7 days
    "injection_state": filter_injection_state,  # the console's filter: an injectable in this D5 state
}


class UnknownFilterError(LookupError):
    """A caller asked for a filter the caseload does not have: a programming error (the API and the console only
    pass the names they declare), never a reason to return the unfiltered list."""


def patient_caseload(*, user: User, q: str = "", filters: Mapping[str, Any] | None = None) -> QuerySet[Patient]:
    """Patients the user may see, searched by `q` and narrowed by each filter whose value is not None (a filter
    left empty does not filter). An unknown filter name raises UnknownFilterError, whatever its value. The adherence
    filter reads the stored figure: a caller refreshes a stale one first (medications' adherence_catch_up)."""
    rows = patient_search(patient_list(user=user), q)
    for name, value in (filters or {}).items():
        apply = FILTERS.get(name)
        if apply is None:
            raise UnknownFilterError(f"No patient filter {name!r}; the caseload has: {', '.join(sorted(FILTERS))}.")
        if value is not None:
            rows = apply(rows, value)
    return rows
