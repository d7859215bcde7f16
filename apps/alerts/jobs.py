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
from apps.medications.adherence import LIST_WINDOW_DAYS
from apps.medications.models import Schedule, ScheduleStatus
from apps.medications.rules.adherence import ADHERENT_PDC, pdc_percent
from apps.medications.rules.injection import (
    BANDS_BY_DRUG,
    AlertSpec,
    InjectionState,
    alert_for,
    is_transition,
    notice_for,
)
from apps.medications.selectors import schedules_due_for_adherence_judging, schedules_due_for_injection_check
from apps.medications.services import (
    InjectionTransition,
    adherence_day_turned,
    adherence_judged,
    injection_check_claim,
    injection_status_now,
)
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
        # One problem, one alert: the injection alert takes over from a low-adherence alert open on its schedule.
        alerts_resolve_automatically(
            patient=schedule.patient,
            kinds=Q(kind="low_adherence", schedule=schedule),
            note="Resolved automatically: the injection's own alert now follows this schedule up.",
            now=now,
        )
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
# The figure is the 90-day PDC stored on the schedule (apps.medications.adherence, LIST_WINDOW_DAYS), the one the
# patient list shows and the adherence API computes; a schedule with fewer than MIN_TRACKED_DAYS (14) tracked days
# has none and is not judged. The injection watch owns an injectable that is due, late or critical (DOMAIN D5): one
# problem, one alert.
INJECTION_WATCHED = frozenset({InjectionState.DUE, InjectionState.LATE, InjectionState.CRITICAL})


@dataclass
class AdherenceReport:
    patients: int = 0
    schedules: int = 0
    alerts_raised: int = 0
    alerts_resolved: int = 0
    failed: list[str] = field(default_factory=list)


def _injection_watched(schedule: Schedule, now: datetime) -> InjectionState | None:
    status = injection_status_now(schedule, now)
    return status.state if status is not None and status.state in INJECTION_WATCHED else None


def _judge(schedule: Schedule, now: datetime, report: AdherenceReport) -> None:
    patient = schedule.patient
    pdc = schedule.adherence_pdc
    kinds = Q(kind="low_adherence", schedule=schedule)
    episode_open = Alert.objects.filter(kinds, patient=patient).exclude(state=AlertState.RESOLVED).exists()
    watched = _injection_watched(schedule, now) if schedule.status == ScheduleStatus.ACTIVE else None
    if schedule.status != ScheduleStatus.ACTIVE or pdc is None or watched is not None:
        if not episode_open:
            return
        if schedule.status != ScheduleStatus.ACTIVE:
            note = f"Resolved automatically: schedule {schedule.get_status_display().lower()}."
        elif watched is not None:
            note = f"Resolved automatically: the injection is {watched.value}; its own alert follows it up."
        else:
            note = "Resolved automatically: too few tracked days for a PDC."
        report.alerts_resolved += alerts_resolve_automatically(patient=patient, kinds=kinds, note=note, now=now)
        return
    days = schedule.adherence_days or LIST_WINDOW_DAYS
    over = f"the last {days} days" if days == LIST_WINDOW_DAYS else f"the {days} days tracked so far"
    if pdc < ADHERENT_PDC and not episode_open:
        covered = (pdc * days).to_integral_value()  # exact: pdc is covered / days truncated to 3 decimals
        if alert_raise(
            patient=patient,
            schedule=schedule,
            kind="low_adherence",
            severity="normal",
            rule="P1",
            episode=f"{schedule.pk}:{int(now.timestamp())}",  # a new episode each time one opens
            message=(
                f"{schedule.medication.name}: {covered} of {days} days covered in {over} "
                f"(PDC {pdc_percent(pdc)}, below {pdc_percent(ADHERENT_PDC)})."
            ),
            now=now,
        ):
            report.alerts_raised += 1
    elif pdc >= ADHERENT_PDC and episode_open:
        report.alerts_resolved += alerts_resolve_automatically(
            patient=patient, kinds=kinds, note=f"Resolved automatically: PDC back to {pdc_percent(pdc)}.", now=now
        )


def _judge_patient(patient: Patient, schedules: list[Schedule], now: datetime, report: AdherenceReport) -> None:
    # The stored figure and when to judge again are medications' columns, written by its services.
    adherence_day_turned(schedules, now=now)  # her day has turned: today's figure and tomorrow's
    for schedule in schedules:
        report.schedules += 1
        _judge(schedule, now, report)
    adherence_judged(schedules)


def low_adherence_watch(now: datetime | None = None) -> AdherenceReport:
    """Judge the low-adherence alert (PDC < 0.8 over 90 days: one alert per episode, resolved on recovery) of the
    schedules due for it: those a write changed since the last run, and those whose patient's day has turned (their
    stored figure is refreshed first). Cost follows the schedules due, not the number of patients."""
    now = now or clock.now()
    report = AdherenceReport()
    failed: set[uuid.UUID] = set()
    while True:
        batch = schedules_due_for_adherence_judging(now=now, limit=BATCH, skip_patients=failed)
        by_patient: dict[uuid.UUID, list[Schedule]] = {}
        for schedule in batch:
            by_patient.setdefault(schedule.patient_id, []).append(schedule)
        for patient_id, schedules in by_patient.items():
            report.patients += 1
            try:
                with transaction.atomic():
                    _judge_patient(schedules[0].patient, schedules, now, report)
            except Exception:  # one patient's bad data must not stop the others
                log.exception("low adherence watch failed for patient %s", patient_id)
                report.failed.append(str(patient_id))
                failed.add(patient_id)
        if len(batch) < BATCH:
            return report
