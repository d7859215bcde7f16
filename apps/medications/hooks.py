"""Announcements from the medications layer to the layers above it (alerts, reminders, sync), which register
handlers at start-up. Handlers run inside the writer's transaction: they commit or roll back with it."""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.medications.models import DoseRecord, Schedule

DoseHandler = Callable[["DoseRecord"], None]
ScheduleHandler = Callable[["Schedule"], None]

_dose_recorded: list[DoseHandler] = []
_schedule_changed: list[ScheduleHandler] = []


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
