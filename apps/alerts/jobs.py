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
from apps.alerts.models import Alert, AlertState
from apps.alerts.services import alert_raise, alerts_resolve_automatically, notice_publish
from apps.medications.adherence import patient_adherence
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
