import logging
from dataclasses import asdict
from typing import Any

from celery import Task, shared_task

from apps.reminders.dispatch import dispatch
from apps.reminders.materialise import materialise


@shared_task(name="reminders.materialise", acks_late=True)
def materialise_task() -> dict[str, Any]:
    return asdict(materialise())


@shared_task(name="reminders.dispatch", acks_late=True, bind=True)
def dispatch_task(self: Task) -> dict[str, Any]:
    # Beat enqueues one run a minute; a rush (a full first batch) calls one more worker in, on the same queue,
    # which may call the next: every free worker ends up dispatching until the backlog is gone.
    queue = (self.request.delivery_info or {}).get("routing_key")

    def call_for_help() -> None:
        try:
            dispatch_task.apply_async(queue=queue) if queue else dispatch_task.delay()
        except Exception:  # broker unreachable: this run carries on alone
            logging.getLogger(__name__).warning("could not enqueue a helper dispatch run")

    # Run by hand (`runjob`, eager): this process does it all.
    return asdict(dispatch(on_backlog=None if self.request.is_eager else call_for_help))


@shared_task(name="reminders.push_staff_alerts", acks_late=True)
def push_staff_alerts_task() -> dict[str, Any]:
    from apps.reminders.staff_alerts import push_pending_staff_alerts

    return asdict(push_pending_staff_alerts())
