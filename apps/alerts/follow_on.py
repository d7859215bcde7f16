"""The DOMAIN D5 `stopped` check: a stopped denosumab or zoledronic acid needs an active follow-on anti-resorptive.

Judged whenever the answer can change: when the schedule stops (or its course ends), when any of the patient's
anti-resorptive schedules is written (a follow-on started, stopped, paused, ended early), and on the local date a
follow-on ends or starts (the watch's next check). Each unprotected episode raises one alert; cover resolves it.
"""

from dataclasses import dataclass
from datetime import datetime, time
from uuid import UUID

from django.db.models import Q

from apps.alerts.models import Alert, AlertState
from apps.alerts.services import alert_raise, alerts_resolve_automatically
from apps.medications.models import Schedule
from apps.medications.rules.injection import (
    BANDS_BY_DRUG,
    InjectionBands,
    InjectionState,
    InjectionStatus,
    alert_for,
    follow_on_cover,
    protected_until,
)
from apps.medications.selectors import follow_ons_of, injection_status_now, stopped_injectables_of
from apps.medications.services import stopped_protection_record
from backend import clock
from backend.recurrence import to_instant


@dataclass(frozen=True)
class StoppedOutcome:
    covered: bool
    alert: Alert | None
    resolved: int


DELAY_STATES = ("due", "late", "critical")  # DOMAIN D5: the states whose alerts count the delay
STOPPED_KINDS = tuple(f"{bands.drug}_stopped" for bands in BANDS_BY_DRUG.values())  # DOMAIN D5 `stopped`


def delay_kinds(bands: InjectionBands) -> list[str]:
    """The kinds of the drug's D5 delay alerts (due, late, critical)."""
    return [f"{bands.drug}_{state}" for state in DELAY_STATES]


def delay_alert_kinds(bands: InjectionBands) -> Q:
    """The schedule's D5 delay alerts (due, late, critical): a stopped schedule's own check replaces them."""
    return Q(kind__in=delay_kinds(bands))


def stopped_check(*, schedule: Schedule, status: InjectionStatus, now: datetime) -> StoppedOutcome:
    """Judge one stopped injectable now. Call inside a transaction holding the schedule's row lock."""
    bands = BANDS_BY_DRUG[schedule.medication.injection_bands]
    patient = schedule.patient
    timezone = patient.profile.timezone
    # DOMAIN D4/D7: the stopped drug protects her until its next dose would still have been on time.
    cover = follow_on_cover(
        today=clock.local_today(timezone, now),
        follow_ons=follow_ons_of(schedule),
        protected_until=protected_until(next_due=status.next_due, bands=bands),
    )
    next_check = to_instant(cover.recheck_on, time(0), clock.zone(timezone)) if cover.recheck_on else None
    resolved = alerts_resolve_automatically(
        patient=patient,
        kinds=Q(schedule=schedule) & delay_alert_kinds(bands),
        note="Resolved automatically: the schedule was stopped, so its own stop check replaces the delay alerts.",
        now=now,
    )
    stopped_kind = f"{bands.drug}_stopped"
    since = stopped_protection_record(schedule=schedule, covered=cover.covered, now=now, next_check=next_check)
    if since is None:
        resolved += alerts_resolve_automatically(
            patient=patient,
            kinds=Q(schedule=schedule, kind=stopped_kind),
            note="Resolved automatically: an active follow-on anti-resorptive now protects her.",
            now=now,
        )
        return StoppedOutcome(covered=True, alert=None, resolved=resolved)

    # One problem, one alert: she is unprotected once, however many stopped schedules say so.
    # Exactly the injectables' D5 `stopped` kinds: `ai_stopped` (the cancer treatment, T1) is another problem.
    already_open = (
        Alert.objects.filter(patient=patient, kind__in=STOPPED_KINDS).exclude(state=AlertState.RESOLVED).exists()
    )
    spec = alert_for(status, bands)
    if already_open or spec is None:
        return StoppedOutcome(covered=False, alert=None, resolved=resolved)
    alert = alert_raise(
        patient=patient,
        schedule=schedule,
        kind=spec.kind,
        severity=spec.severity.value,
        message=spec.message,
        rule=spec.rule,
        episode=f"stopped:{since.isoformat()}",
        now=now,
    )
    return StoppedOutcome(covered=False, alert=alert, resolved=resolved)


def recheck_stopped_injectables(*, patient_id: UUID, changed_id: UUID) -> None:
    """A medication schedule of hers was written or removed: if it is an anti-resorptive, judge her stopped
    injectables again, now, in this transaction (a follow-on started resolves their alert; one stopped, paused, cut
    short or removed raises it). A removed schedule is no longer there to say what it was: judge them again."""
    anti_resorptive = (
        Schedule.objects.filter(pk=changed_id).values_list("medication__is_anti_resorptive", flat=True).first()
    )
    if anti_resorptive is False:
        return
    now = clock.now()
    # The changed schedule, if itself a stopped injectable, is judged by the watch (its check is due now).
    for schedule in stopped_injectables_of(patient_id, exclude=changed_id):
        status = injection_status_now(schedule, now)
        if status is not None and status.state == InjectionState.STOPPED:
            stopped_check(schedule=schedule, status=status, now=now)
