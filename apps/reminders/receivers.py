"""What the reminders layer does when the layers below announce something (backend.events), subscribed by
RemindersConfig.ready."""

import logging

from apps.reminders.devices import devices_signed_out
from apps.reminders.materialise import materialise
from apps.reminders.tasks import push_staff_alerts_task
from backend.events import (
    AiCourseResumed,
    AiCourseStopped,
    AlertEscalated,
    AlertRaised,
    CheckInRecorded,
    PlanChanged,
    ProfileChanged,
    SignedOut,
    StockChanged,
    subscribe,
)

log = logging.getLogger(__name__)


def connect() -> None:
    subscribe(PlanChanged, refresh_patient_reminders)
    # Her weekly check-in day or time, her zone, her AI recorded or stopped; and a check-in answered (its week's
    # reminder is withdrawn, the no-check-in nudge moves): the sources read the profile and the check-ins.
    subscribe(ProfileChanged, refresh_patient_reminders)
    subscribe(CheckInRecorded, refresh_patient_reminders)
    # She stopped or restarted her AI: the weekly check-in asks only while she is on it.
    subscribe(AiCourseStopped, refresh_patient_reminders)
    subscribe(AiCourseResumed, refresh_patient_reminders)
    subscribe(StockChanged, refresh_patient_reminders)  # issue 17: a refill need opened or closed
    subscribe(AlertRaised, push_alert_to_staff)
    subscribe(AlertEscalated, push_alert_to_staff)
    subscribe(SignedOut, remove_signed_out_devices, in_transaction=True)


def refresh_patient_reminders(
    event: PlanChanged | ProfileChanged | CheckInRecorded | AiCourseStopped | AiCourseResumed | StockChanged,
) -> None:
    """After commit: her occurrences follow a plan created, moved, paused or stopped at once, not at the next
    materialise run (which would catch them up if this failed)."""
    materialise(patient_ids=[event.patient_id])


def push_alert_to_staff(event: AlertRaised | AlertEscalated) -> None:
    """After commit, once the alert (or its escalation) is visible to the worker: push it to her coordinators."""
    try:
        push_staff_alerts_task.delay()
    except Exception:  # broker unreachable: the periodic sweep pushes it
        log.warning("could not enqueue the staff push for alert %s", event.alert_id)


def remove_signed_out_devices(event: SignedOut) -> None:
    """In the sign-out's transaction: that installation stops reminding her, and its tokens are free."""
    devices_signed_out(user_id=event.user_id, device_id=event.device_id)
