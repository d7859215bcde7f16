from dataclasses import asdict
from typing import Any

from celery import shared_task

from apps.alerts.jobs import injection_watch, low_adherence_watch


@shared_task(name="alerts.injection_watch", acks_late=True)
def injection_watch_task() -> dict[str, Any]:
    return asdict(injection_watch())


@shared_task(name="alerts.low_adherence_watch", acks_late=True)
def low_adherence_watch_task() -> dict[str, Any]:
    return asdict(low_adherence_watch())
