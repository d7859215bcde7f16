from dataclasses import asdict
from typing import Any

from celery import shared_task

from apps.reminders.dispatch import dispatch
from apps.reminders.materialise import materialise


@shared_task(name="reminders.materialise", acks_late=True)
def materialise_task() -> dict[str, Any]:
    return asdict(materialise())


@shared_task(name="reminders.dispatch", acks_late=True)
def dispatch_task() -> dict[str, Any]:
    return asdict(dispatch())
