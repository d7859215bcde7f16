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


@shared_task(name="reminders.push_staff_alerts", acks_late=True)
def push_staff_alerts_task() -> dict[str, Any]:
    from apps.reminders.staff_alerts import push_pending_staff_alerts

    return asdict(push_pending_staff_alerts())
