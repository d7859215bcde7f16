from dataclasses import asdict
from typing import Any

from celery import shared_task

from apps.appointments.jobs import appointment_watch


@shared_task(name="appointments.appointment_watch", acks_late=True)
def appointment_watch_task() -> dict[str, Any]:
    return asdict(appointment_watch())
