"""The injection watch (DOMAIN D1-D5): turn due schedule checks into state transitions, alerts and notices.

Cost follows the number of checks due (an index on Schedule.injection_next_check_at), not the number of patients.
A batch of due schedules is claimed (rows locked as read, one conditional write) inside one transaction together
with the alerts and notices it causes, written a statement per kind of row for the whole batch: a crash loses
nothing (the checks stay due), a second worker raises nothing twice (it skips rows the first holds, and each alert
and notice is unique per episode). A batch that fails is done again one schedule per transaction, so one bad row
does not stop the watch for everyone else.
"""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from apps.accounts.models import Patient
from apps.alerts.follow_on import delay_kinds, stopped_check
from apps.alerts.kinds import AI_ADHERENCE_LOW, LOW_ADHERENCE
from apps.alerts.models import Alert, AlertState, Notice
from apps.alerts.services import alert_raise, alerts_raise, alerts_resolve_automatically, notices_publish
from apps.medications.adherence import LIST_WINDOW_DAYS
from apps.medications.models import DrugClass, Schedule, ScheduleStatus
from apps.medications.rules.adherence import ADHERENT_PDC, pdc_percent
from apps.medications.rules.injection import (
    BANDS_BY_DRUG,
    AlertSpec,
    InjectionState,
    alert_for,
    is_transition,
    notice_for,
)
from apps.medications.selectors import (
    injection_status_now,
    schedules_due_for_adherence_judging,
    schedules_due_for_injection_check,
)
from apps.medications.services import (
    InjectionTransition,
    adherence_day_turned,
    adherence_judged,
    injection_checks_claim,
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

    def add(self, other: "WatchReport") -> None:
        self.transitions += other.transitions
        self.alerts_raised += other.alerts_raised
        self.notices_published += other.notices_published


@dataclass(frozen=True)
class _DelayAlert:
    transition: InjectionTransition
    spec: AlertSpec
    episode: str


def _raise_delay_alerts(wanted: Sequence[_DelayAlert], now: datetime) -> int:
    """Raise each D5 delay alert unless its problem already has one; supersede its schedule's milder delay alerts.
    Returns how many were raised.

    Still late after a change (a back-filled older injection, a due date moved within the same band): the open alert
    stays. An alert resolved automatically by an injection that was then corrected or removed is raised again, once;
    one a coordinator resolved herself stays resolved for that due date.

    One read for the batch answers all three questions (is one open, what came before in this episode, what to
    supersede): the schedules' unresolved alerts and their alerts of the kinds wanted. The claims hold the schedules'
    rows, so no other watcher writes their delay alerts meanwhile.
    """
    if not wanted:
        return 0
    known: dict[uuid.UUID, list[Alert]] = {}
    rows = (
        Alert.objects.filter(schedule_id__in=[w.transition.schedule.pk for w in wanted])
        .filter(~Q(state=AlertState.RESOLVED) | Q(kind__in={w.spec.kind for w in wanted}))
        .order_by("-raised_at", "-id")
        .only("schedule_id", "kind", "state", "episode", "resolved_by_id")
    )
    for row in rows:
        assert row.schedule_id is not None
        known.setdefault(row.schedule_id, []).append(row)
    alerts: list[Alert] = []
    superseding: dict[uuid.UUID, list[str]] = {}  # schedule -> its delay kinds, when a milder one is open
    for w in wanted:
        schedule, spec = w.transition.schedule, w.spec
        mine = known.get(schedule.pk, [])
        if any(row.kind == spec.kind and row.state != AlertState.RESOLVED for row in mine):
            continue
        earlier = [row for row in mine if row.kind == spec.kind and row.episode.startswith(w.episode)]
        if earlier and earlier[0].resolved_by_id is not None:
            continue
        alerts.append(
            Alert(
                patient=schedule.patient,
                schedule=schedule,
                kind=spec.kind,
                severity=spec.severity.value,
                message=spec.message,
                rule=spec.rule,
                episode=w.episode if not earlier else f"{w.episode}#{len(earlier) + 1}",
                raised_at=now,
            )
        )
        kinds = delay_kinds(BANDS_BY_DRUG[schedule.medication.injection_bands])
        if any(row.state != AlertState.RESOLVED and row.kind in kinds for row in mine):
            superseding[schedule.pk] = kinds
    raised = alerts_raise(alerts)
    for alert in raised:
        # One problem, one alert: the injection alert takes over from a low-adherence alert open on its schedule.
        alerts_resolve_automatically(
            patient=alert.patient,
            kinds=Q(kind="low_adherence", schedule_id=alert.schedule_id),
            note="Resolved automatically: the injection's own alert now follows this schedule up.",
            now=now,
        )
        if alert.schedule_id in superseding:
            alerts_resolve_automatically(
                patient=alert.patient,
                kinds=Q(schedule_id=alert.schedule_id, kind__in=superseding[alert.schedule_id]) & ~Q(pk=alert.pk),
                note=f"Resolved automatically: superseded by the {alert.severity} alert raised now ({alert.kind}).",
                now=now,
            )
    return len(raised)


def _watch(schedules: Sequence[Schedule], now: datetime, report: WatchReport) -> set[uuid.UUID]:
    """Claim these schedules' due checks and act on each transition; returns the ids another transaction held."""
    claims = injection_checks_claim(schedules=schedules, now=now)
    notices: list[Notice] = []
    delay_alerts: list[_DelayAlert] = []
    for transition in claims.transitions:
        schedule, status = transition.schedule, transition.status
        bands = BANDS_BY_DRUG[schedule.medication.injection_bands]
        previous = InjectionState(transition.previous) if transition.previous else None
        episode = status.next_due.isoformat()
        if status.state == InjectionState.STOPPED:
            # Rare, and judged against her other schedules: one at a time.
            outcome = stopped_check(schedule=schedule, status=status, now=now)
            report.alerts_raised += outcome.alert is not None
            if outcome.covered:
                continue  # a follow-on protects her: nothing to tell her either
            episode = f"stopped:{(schedule.status_changed_at or now).date().isoformat()}"
        if is_transition(previous, status.state):
            report.transitions += 1
            notice = notice_for(status, bands, drug_label=schedule.medication.name.lower())
            if notice is not None:
                notices.append(
                    Notice(
                        patient=schedule.patient,
                        schedule=schedule,
                        kind=notice.kind,
                        title=notice.title,
                        body=notice.body,
                        episode=episode,
                        published_at=now,
                    )
                )
        spec = alert_for(status, bands) if status.state != InjectionState.STOPPED else None
        if spec is not None:
            delay_alerts.append(_DelayAlert(transition, spec, episode))
    report.notices_published += len(notices_publish(notices))
    report.alerts_raised += _raise_delay_alerts(delay_alerts, now)
    return claims.held_elsewhere


def injection_watch(now: datetime | None = None) -> WatchReport:
    now = now or clock.now()
    report = WatchReport()
    passed: set[uuid.UUID] = set()  # still due, not done in this run: failed, or held by another transaction
    while True:
        batch = schedules_due_for_injection_check(now=now, limit=BATCH, skip=passed)
        report.checked += len(batch)
        done = WatchReport()
        try:
            with transaction.atomic():
                passed |= _watch(batch, now, done)
        except Exception:  # one bad row must not stop the watch for everyone else: one schedule at a time
            log.warning("injection watch: a batch of %s failed, doing it one schedule at a time", len(batch))
            done = WatchReport()
            for schedule in batch:
                try:
                    with transaction.atomic():
                        passed |= _watch([schedule], now, done)
                except Exception:
                    log.exception("injection watch failed for schedule %s", schedule.pk)
                    report.failed.append(str(schedule.pk))
                    passed.add(schedule.pk)
        report.add(done)
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


def _adherence_kind(schedule: Schedule) -> str:
    """The aromatase inhibitor's slipping is its own alert (issue 15): the coordinator sees which treatment it is."""
    if schedule.medication.drug_class == DrugClass.AROMATASE_INHIBITOR:
        return AI_ADHERENCE_LOW
    return LOW_ADHERENCE


def _judge(schedule: Schedule, now: datetime, report: AdherenceReport) -> None:
    patient = schedule.patient
    pdc = schedule.adherence_pdc
    kind = _adherence_kind(schedule)
    # Both kinds on this schedule: an AI alert raised as low_adherence before issue 15 is the same open episode.
    kinds = Q(kind__in=(LOW_ADHERENCE, AI_ADHERENCE_LOW), schedule=schedule)
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
    if days < LIST_WINDOW_DAYS and schedule.pauses:  # DOMAIN P1 (design): its paused days are not in the window
        over = f"the {days} days tracked in the last {LIST_WINDOW_DAYS}, paused days left out"
    if pdc < ADHERENT_PDC and not episode_open:
        covered = (pdc * days).to_integral_value()  # exact: pdc is covered / days truncated to 3 decimals
        # DOMAIN T1: the aromatase inhibitor is her cancer treatment; say so, not only "a medicine".
        what = "Her cancer treatment is slipping: " if kind == AI_ADHERENCE_LOW else ""
        if alert_raise(
            patient=patient,
            schedule=schedule,
            kind=kind,
            severity="normal",
            rule="P1",
            episode=f"{schedule.pk}:{int(now.timestamp())}",  # a new episode each time one opens
            message=(
                f"{what}{schedule.medication.name}: {covered} of {days} days covered in {over} "
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
