"""The injection watch (DOMAIN D1-D5): turn due schedule checks into state transitions, alerts and notices.

Cost follows the number of checks due (an index on Schedule.injection_next_check_at), not the number of patients.
Each schedule is claimed by a conditional update inside its own transaction together with the alert and notice it
causes, so a crash loses nothing (the check stays due) and a second worker raises nothing twice.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from apps.alerts.services import alert_raise, notice_publish
from apps.medications.models import Schedule, ScheduleStatus
from apps.medications.rules.injection import BANDS_BY_DRUG, InjectionState, alert_for, is_transition, notice_for
from apps.medications.selectors import schedules_due_for_injection_check
from apps.medications.services import InjectionTransition, injection_check_claim
from backend import clock

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class WatchReport:
    checked: int = 0
    transitions: int = 0
    alerts_raised: int = 0
    notices_published: int = 0
    failed: list[str] = field(default_factory=list)


def _has_follow_on(schedule: Schedule) -> bool:
    """Another active anti-resorptive (e.g. a bridging bisphosphonate) makes a stop safe (DOMAIN D5 stopped)."""
    return (
        Schedule.objects.filter(
            patient_id=schedule.patient_id, status=ScheduleStatus.ACTIVE, medication__is_anti_resorptive=True
        )
        .exclude(pk=schedule.pk)
        .exists()
    )


def _act_on(transition: InjectionTransition, now: datetime, report: WatchReport) -> None:
    schedule, status = transition.schedule, transition.status
    bands = BANDS_BY_DRUG[schedule.medication.injection_bands]
    episode = status.next_due.isoformat()
    if status.state == InjectionState.STOPPED:
        if _has_follow_on(schedule):
            return
        episode = f"stopped:{(schedule.status_changed_at or now).date().isoformat()}"
    previous = InjectionState(transition.previous) if transition.previous else None
    if is_transition(previous, status.state):
        report.transitions += 1
        notice = notice_for(status, bands, drug_label=schedule.medication.name.lower())
        if notice is not None and notice_publish(
            patient=schedule.patient,
            schedule=schedule,
            kind=notice.kind,
            title=notice.title,
            body=notice.body,
            episode=episode,
            now=now,
        ):
            report.notices_published += 1
    spec = alert_for(status, bands)
    if spec is not None and alert_raise(
        patient=schedule.patient,
        schedule=schedule,
        kind=spec.kind,
        severity=spec.severity.value,
        message=spec.message,
        rule=spec.rule,
        episode=episode,
        now=now,
    ):
        report.alerts_raised += 1


def injection_watch(now: datetime | None = None) -> WatchReport:
    now = now or clock.now()
    report = WatchReport()
    seen: set[object] = set()
    while True:
        ids = [pk for pk in schedules_due_for_injection_check(now=now, limit=BATCH) if pk not in seen]
        if not ids:
            return report
        for schedule_id in ids:
            seen.add(schedule_id)
            report.checked += 1
            try:
                with transaction.atomic():
                    transition = injection_check_claim(schedule_id=schedule_id, now=now)
                    if transition is not None:
                        _act_on(transition, now, report)
            except Exception:  # one bad row must not stop the watch for everyone else
                log.exception("injection watch failed for schedule %s", schedule_id)
                report.failed.append(str(schedule_id))
