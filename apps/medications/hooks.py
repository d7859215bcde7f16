"""Announcements from the medications layer to the layers above it (alerts, reminders, sync), which register
handlers at start-up. Handlers run inside the writer's transaction: they commit or roll back with it."""

from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from apps.medications.models import DoseRecord, Schedule

DoseHandler = Callable[["DoseRecord"], None]
# (patient ids) -> {patient id: (has an active calcium plan, has an active vitamin D plan)}
SupplementPlanProvider = Callable[[set[UUID]], dict[UUID, tuple[bool, bool]]]
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
    """The supplements app tells the pharmacist checks (DOMAIN D6) who takes calcium and vitamin D."""
    if provider not in _supplement_plan_providers:
        _supplement_plan_providers.append(provider)


def supplement_plans(patient_ids: set[UUID]) -> dict[UUID, tuple[bool, bool]]:
    flags: dict[UUID, tuple[bool, bool]] = {}
    for provider in _supplement_plan_providers:
        for patient_id, (calcium, vitamin_d) in provider(patient_ids).items():
            old = flags.get(patient_id, (False, False))
            flags[patient_id] = (old[0] or calcium, old[1] or vitamin_d)
    return flags
