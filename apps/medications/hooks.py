"""Announcements from the medications layer to the layers above it (alerts, reminders, sync), which register
handlers at start-up. Handlers run inside the writer's transaction: they commit or roll back with it."""

from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

from apps.medications.rules.checks import SupplementPlanFacts

if TYPE_CHECKING:
    from apps.medications.models import DoseRecord, Schedule

DoseHandler = Callable[["DoseRecord"], None]
# (patient ids) -> {patient id: her active supplement plans (what they are, and at what local times)}
SupplementPlanProvider = Callable[[set[UUID]], dict[UUID, list[SupplementPlanFacts]]]
ScheduleHandler = Callable[["Schedule"], None]

_dose_recorded: list[DoseHandler] = []
_schedule_changed: list[ScheduleHandler] = []
_supplement_plan_providers: list[SupplementPlanProvider] = []


def on_dose_recorded(handler: DoseHandler) -> DoseHandler:
    if handler not in _dose_recorded:
        _dose_recorded.append(handler)
    return handler


def on_schedule_changed(handler: ScheduleHandler) -> ScheduleHandler:
    if handler not in _schedule_changed:
        _schedule_changed.append(handler)
    return handler


def dose_recorded(dose: "DoseRecord") -> None:
    for handler in _dose_recorded:
        handler(dose)


def schedule_changed(schedule: "Schedule") -> None:
    for handler in _schedule_changed:
        handler(schedule)


def register_supplement_plan_provider(provider: SupplementPlanProvider) -> None:
    """The supplements app tells the pharmacist checks which supplement plans each patient has and at what times
    (DOMAIN D6: calcium and vitamin D with denosumab; A2: nothing oral too soon after an oral bisphosphonate)."""
    if provider not in _supplement_plan_providers:
        _supplement_plan_providers.append(provider)


def supplement_plans(patient_ids: set[UUID]) -> dict[UUID, list[SupplementPlanFacts]]:
    plans: dict[UUID, list[SupplementPlanFacts]] = {}
    for provider in _supplement_plan_providers:
        for patient_id, rows in provider(patient_ids).items():
            plans.setdefault(patient_id, []).extend(rows)
    return plans
