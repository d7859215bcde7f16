"""The injection watch (DOMAIN D1-D5): turn due schedule checks into state transitions, alerts and notices.

Cost follows the number of checks due (an index on Schedule.injection_next_check_at), not the number of patients.
Each schedule is claimed by a conditional update inside its own transaction together with the alert and notice it
causes, so a crash loses nothing (the check stays due) and a second worker raises nothing twice.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from apps.accounts.models import Patient
from apps.alerts.follow_on import delay_alert_kinds, stopped_check
from apps.alerts.models import Alert, AlertState
from apps.alerts.services import alert_raise, alerts_resolve_automatically, notice_publish
from apps.medications.adherence import patient_adherence
from apps.medications.models import Schedule, ScheduleStatus
from apps.medications.rules.injection import (
    BANDS_BY_DRUG,
    AlertSpec,
    InjectionState,
    alert_for,
    is_transition,
    notice_for,
)
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


def _raise_delay_alert(schedule: Schedule, spec: AlertSpec, episode: str, now: datetime) -> Alert | None:
    """Raise a D5 delay alert unless the problem already has one; supersede the schedule's milder delay alerts.

    Still late after a change (a back-filled older injection, a due date moved within the same band): the open alert
    stays. An alert resolved automatically by an injection that was then corrected or removed is raised again, once;
    one a coordinator resolved herself stays resolved for that due date.
    """
    bands = BANDS_BY_DRUG[schedule.medication.injection_bands]
    if (
        Alert.objects.filter(patient_id=schedule.patient_id, schedule=schedule, kind=spec.kind)
        .exclude(state=AlertState.RESOLVED)
        .exists()
    ):
        return None
    earlier = list(
        Alert.objects.filter(
            patient_id=schedule.patient_id, schedule=schedule, kind=spec.kind, episode__startswith=episode
        ).order_by("-raised_at", "-id")
    )
    if earlier and earlier[0].resolved_by_id is not None:
        return None
    alert = alert_raise(
        patient=schedule.patient,
        schedule=schedule,
        kind=spec.kind,
        severity=spec.severity.value,
        message=spec.message,
        rule=spec.rule,
        episode=episode if not earlier else f"{episode}#{len(earlier) + 1}",
        now=now,
    )
    if alert is not None:
        alerts_resolve_automatically(
            patient=schedule.patient,
            kinds=Q(schedule=schedule) & delay_alert_kinds(bands) & ~Q(pk=alert.pk),
            note=f"Resolved automatically: superseded by the {spec.severity.value} alert raised now ({spec.kind}).",
            now=now,
        )
    return alert


def _act_on(transition: InjectionTransition, now: datetime, report: WatchReport) -> None:
    schedule, status = transition.schedule, transition.status
    bands = BANDS_BY_DRUG[schedule.medication.injection_bands]
    previous = InjectionState(transition.previous) if transition.previous else None
    episode = status.next_due.isoformat()
    if status.state == InjectionState.STOPPED:
        outcome = stopped_check(schedule=schedule, status=status, now=now)
        report.alerts_raised += outcome.alert is not None
        if outcome.covered:
            return  # a follow-on protects her: nothing to tell her either
        episode = f"stopped:{(schedule.status_changed_at or now).date().isoformat()}"
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
    if status.state == InjectionState.STOPPED:
        return
    spec = alert_for(status, bands)
    if spec is not None and _raise_delay_alert(schedule, spec, episode, now) is not None:
        report.alerts_raised += 1


def injection_watch(now: datetime | None = None) -> WatchReport:
    now = now or clock.now()
    report = WatchReport()
    failed: set[uuid.UUID] = set()
    while True:
        batch = schedules_due_for_injection_check(now=now, limit=BATCH, skip=failed)
        for schedule in batch:
            report.checked += 1
            try:
                with transaction.atomic():
                    transition = injection_check_claim(schedule=schedule, now=now)
                    if transition is not None:
                        _act_on(transition, now, report)
            except Exception:  # one bad row must not stop the watch for everyone else
                log.exception("injection watch failed for schedule %s", schedule.pk)
                report.failed.append(str(schedule.pk))
                failed.add(schedule.pk)
        if len(batch) < BATCH:  # a short batch was the last one; claimed rows left the due set
            return report


# --- low adherence (DOMAIN P1) ----------------------------------------------------------------------------------
ADHERENCE_WINDOW_DAYS = 90  # DOMAIN P1 as the issue sets it: PDC over 90 days
MIN_ACTIVE_DAYS = 28  # design: a schedule younger than 4 weeks has too few doses to judge


@dataclass
class AdherenceReport:
    patients: int = 0
    schedules: int = 0
    alerts_raised: int = 0
    alerts_resolved: int = 0
    failed: list[str] = field(default_factory=list)


def _judge_patient(patient: Patient, report: AdherenceReport) -> None:
    for item in patient_adherence(patient=patient, window_days=ADHERENCE_WINDOW_DAYS):
        schedule, result = item.schedule, item.result
        report.schedules += 1
        judged = schedule.status == ScheduleStatus.ACTIVE and result.days_in_window >= MIN_ACTIVE_DAYS
        # Too young or not running: no verdict, so the list filter and the alerts agree.
        Schedule.objects.filter(pk=schedule.pk).update(
            adherence_pdc=result.pdc if judged else None,
            adherence_checked_on=clock.local_today(patient.profile.timezone),
        )
        episode_open = (
            Alert.objects.filter(patient=patient, schedule=schedule, kind="low_adherence")
            .exclude(state=AlertState.RESOLVED)
            .exists()
        )
        if not judged:
            if episode_open and schedule.status != ScheduleStatus.ACTIVE:
                report.alerts_resolved += alerts_resolve_automatically(
                    patient=patient,
                    kinds=Q(kind="low_adherence", schedule=schedule),
                    note=f"Resolved automatically: schedule {schedule.get_status_display().lower()}.",
                )
            continue
        if not result.adherent and not episode_open:
            if alert_raise(
                patient=patient,
                schedule=schedule,
                kind="low_adherence",
                severity="normal",
                rule="P1",
                episode=f"{schedule.pk}:{int(clock.now().timestamp())}",  # a new episode each time one opens
                message=(
                    f"{schedule.medication.name}: {result.days_covered} of {result.days_in_window} days covered in "
                    f"the last {ADHERENCE_WINDOW_DAYS} days (PDC {result.pdc:.0%}, below 80%)."
                ),
            ):
                report.alerts_raised += 1
        elif result.adherent and episode_open:
            report.alerts_resolved += alerts_resolve_automatically(
                patient=patient,
                kinds=Q(kind="low_adherence", schedule=schedule),
                note=f"Resolved automatically: PDC back to {result.pdc:.0%}.",
            )


def low_adherence_watch() -> AdherenceReport:
    """Raise `low_adherence` once per episode (PDC < 0.8 over 90 days); resolve it when PDC recovers."""
    report = AdherenceReport()
    patients = Patient.objects.filter(schedules__status=ScheduleStatus.ACTIVE).distinct().select_related("profile")
    for patient in patients.iterator(chunk_size=500):
        report.patients += 1
        try:
            with transaction.atomic():
                _judge_patient(patient, report)
        except Exception:  # one patient's bad data must not stop the others
            log.exception("low adherence watch failed for patient %s", patient.pk)
            report.failed.append(str(patient.pk))
    return report
