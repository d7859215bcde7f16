"""Reads for medications: schedules with their live state, occurrences, doses, the review queue."""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Case, Exists, F, Max, OuterRef, Q, QuerySet, When

from apps.accounts.models import Patient, User
from apps.medications.facts import findings_for
from apps.medications.models import (
    DoseRecord,
    DoseStatus,
    DrugClass,
    Medication,
    ReviewDecision,
    ReviewStatus,
    Schedule,
    ScheduleStatus,
)
from apps.medications.rules.injection import BANDS_BY_DRUG, FollowOn, InjectionStatus, injection_status, is_stopped
from apps.medications.rules.off_ramp import FollowOnSchedule, OffRamp, has_off_ramp, off_ramp
from apps.profiles.rules import CurrentTherapy
from backend import clock
from backend.access import patient_scope
from backend.recurrence import Occurrence, Recurrence, next_occurrence, occurrences_between_dates, to_instant


def recurrence_of(schedule: Schedule) -> Recurrence:
    return Recurrence(
        unit=schedule.unit,  # type: ignore[arg-type]
        interval=schedule.interval,
        weekday=schedule.weekday,
        month_day=schedule.month_day,
    )


def timing_of(schedule: Schedule) -> dict[str, Any]:
    """When the schedule's doses fall, as the recurrence functions take it (with `recurrence_of`): her local time
    in her zone, from the start date to the end date."""
    return {
        "local_time": schedule.local_time,
        "zone": clock.zone(schedule.patient.profile.timezone),
        "starts_on": schedule.starts_on,
        "ends_on": schedule.ends_on,
    }


def injection_status_now(schedule: Schedule, now: datetime, *, next_due: date | None = None) -> InjectionStatus | None:
    """The schedule's DOMAIN D5 state on her local date at `now`; None when it is not a watched injectable.
    `next_due`: judged with that due date instead of the schedule's (a push's batch of doses, dose by dose)."""
    bands = BANDS_BY_DRUG.get(schedule.medication.injection_bands)
    next_due = next_due or schedule.next_due_on
    if bands is None or next_due is None:
        return None
    today = clock.local_today(schedule.patient.profile.timezone, now)
    stopped = is_stopped(
        status_stopped=schedule.status == ScheduleStatus.STOPPED, ends_on=schedule.ends_on, today=today
    )
    return injection_status(next_due=next_due, today=today, stopped=stopped, bands=bands)


def medication_list() -> QuerySet[Medication]:
    return Medication.objects.all()


def schedule_list(*, patient: Patient) -> QuerySet[Schedule]:
    return Schedule.objects.filter(patient=patient).select_related("medication", "patient__profile")


# The medicines that protect bone (DOMAIN M1-M6): every class of the catalogue except the aromatase inhibitors.
BONE_DIRECTED_CLASSES = (DrugClass.ORAL_BISPHOSPHONATE, DrugClass.INJECTABLE_ANTIRESORPTIVE, DrugClass.ANABOLIC)


def active_on(day: date) -> Q:
    """Schedules active on her local `day`: status active, and the day within starts_on..ends_on."""
    return Q(status=ScheduleStatus.ACTIVE, starts_on__lte=day) & (Q(ends_on__isnull=True) | Q(ends_on__gte=day))


def current_bone_therapy(patient_id: uuid.UUID, today: date) -> list[CurrentTherapy]:
    """Her bone-directed schedules active on `today` (her local date): what the bone-health assessment calls being
    on therapy (registered with apps.profiles.therapy)."""
    rows = (
        Schedule.objects.filter(
            active_on(today), patient_id=patient_id, medication__drug_class__in=BONE_DIRECTED_CLASSES
        )
        .select_related("medication")
        .order_by("starts_on", "created_at", "id")
    )
    return [
        CurrentTherapy(
            schedule_id=row.pk,
            medication_code=row.medication.code,
            medication_name=row.medication.name,
            dose=row.dose,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
        )
        for row in rows
    ]


def schedules_due_for_injection_check(*, now: datetime, limit: int, skip: Collection[uuid.UUID] = ()) -> list[Schedule]:
    """Schedules whose injection check is due, with what the check reads, in one query (partial index).
    `skip`: rows that already failed in this run (they stay due for the next one)."""
    return list(
        Schedule.objects.filter(injection_next_check_at__lte=now)
        .exclude(pk__in=skip)
        .select_related("medication", "patient__profile")
        .order_by("injection_next_check_at", "id")[:limit]
    )


def schedules_due_for_adherence_judging(
    *, now: datetime, limit: int, skip_patients: Collection[uuid.UUID] = ()
) -> list[Schedule]:
    """Schedules whose low-adherence alert is due to be judged (a write changed them since the last judgement, or
    her day has turned: adherence_judge_at), and active ones never given a stored figure; each patient's together,
    with what the judgement reads. `skip_patients`: patients that already failed in this run."""
    return list(
        Schedule.objects.filter(
            Q(adherence_judge_at__lte=now) | Q(status=ScheduleStatus.ACTIVE, adherence_next_at__isnull=True)
        )
        .exclude(patient_id__in=skip_patients)
        .select_related("medication", "patient__profile")
        .order_by("patient_id", "id")[:limit]
    )


def follow_ons_of(schedule: Schedule) -> list[FollowOn]:
    """The patient's other anti-resorptive schedules that are active by status (DOMAIN D5 stopped, D7): paused or
    stopped ones protect nothing; their dates decide the rest (rules.injection.follow_on_cover)."""
    rows = (
        Schedule.objects.filter(
            patient_id=schedule.patient_id, status=ScheduleStatus.ACTIVE, medication__is_anti_resorptive=True
        )
        .exclude(pk=schedule.pk)
        .values_list("starts_on", "ends_on")
    )
    return [FollowOn(starts_on=starts_on, ends_on=ends_on) for starts_on, ends_on in rows]


def stopped_injectables_of(patient_id: uuid.UUID, *, exclude: uuid.UUID | None = None) -> list[Schedule]:
    """The patient's injectables that are stopped by hand or whose course has ended (candidates for the D5
    `stopped` check), locked so the watch and a follow-on's write judge one after the other."""
    rows = (
        Schedule.objects.select_for_update(of=("self",))
        .filter(patient_id=patient_id)
        .exclude(medication__injection_bands="")
        .filter(Q(status=ScheduleStatus.STOPPED) | Q(ends_on__isnull=False))
        .select_related("medication", "patient__profile")
        .order_by("id")
    )
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return list(rows)


@dataclass(frozen=True)
class ScheduleOffRamp:
    schedule: Schedule
    off_ramp: OffRamp


def off_ramps_of(patient: Patient, *, today: date) -> list[ScheduleOffRamp]:
    """The off-ramp (DOMAIN D7) of each of her denosumab schedules that is stopped or has a planned end, judged on
    her local `today` against her other anti-resorptive schedules active by status (as `follow_ons_of` reads them
    for the D5 `stopped` check): two queries however many schedules she has, none when she has no anti-resorptive."""
    rows = list(
        Schedule.objects.filter(patient=patient, medication__is_anti_resorptive=True)
        .select_related("medication")
        .order_by("starts_on", "created_at", "id")
    )
    ending = [
        row
        for row in rows
        if has_off_ramp(
            drug=row.medication.injection_bands,
            status_stopped=row.status == ScheduleStatus.STOPPED,
            ends_on=row.ends_on,
        )
    ]
    if not ending:
        return []
    last_given: dict[uuid.UUID, date] = dict(
        DoseRecord.objects.filter(schedule_id__in=[row.pk for row in ending], status=DoseStatus.TAKEN)
        .order_by()
        .values("schedule_id")
        .annotate(last=Max("taken_on"))
        .values_list("schedule_id", "last")
    )
    active = [row for row in rows if row.status == ScheduleStatus.ACTIVE]
    found = []
    for schedule in ending:
        ramp = off_ramp(
            today=today,
            last_given=last_given.get(schedule.pk),
            first_due=schedule.starts_on,
            status_stopped=schedule.status == ScheduleStatus.STOPPED,
            ends_on=schedule.ends_on,
            follow_ons=[
                FollowOnSchedule(
                    starts_on=other.starts_on,
                    ends_on=other.ends_on,
                    schedule_id=other.pk,
                    medication_code=other.medication.code,
                    medication_name=other.medication.name,
                )
                for other in active
                if other.pk != schedule.pk
            ],
            bands=BANDS_BY_DRUG[schedule.medication.injection_bands],
        )
        if ramp is not None:
            found.append(ScheduleOffRamp(schedule, ramp))
    return found


@dataclass(frozen=True)
class ScheduleState:
    next_due: date | None
    next_due_at: datetime | None
    injection: InjectionStatus | None


def schedule_state(schedule: Schedule, *, now: datetime | None = None) -> ScheduleState:
    """What the app and the console show: computed live, in the patient's local date."""
    now = now or clock.now()
    injection = injection_status_now(schedule, now)
    if injection is not None:
        zone = clock.zone(schedule.patient.profile.timezone)
        return ScheduleState(injection.next_due, to_instant(injection.next_due, schedule.local_time, zone), injection)
    if schedule.status != ScheduleStatus.ACTIVE:
        return ScheduleState(None, None, None)
    upcoming = next_occurrence(recurrence_of(schedule), **timing_of(schedule), after=now)
    if upcoming is None:
        return ScheduleState(None, None, None)
    return ScheduleState(upcoming.local_date, upcoming.due_at, None)


def schedule_occurrences(schedule: Schedule, *, first: date, last: date) -> list[Occurrence]:
    return occurrences_between_dates(recurrence_of(schedule), **timing_of(schedule), first=first, last=last)


def dose_list(*, patient: Patient, schedule_id: uuid.UUID | None = None) -> QuerySet[DoseRecord]:
    rows = DoseRecord.objects.filter(patient=patient)
    if schedule_id is not None:
        rows = rows.filter(schedule_id=schedule_id)
    return rows.order_by("-taken_at", "id")


def review_queue(*, user: User) -> QuerySet[Schedule]:
    """Schedules awaiting review among the patients the user may see, oldest first."""
    return (
        Schedule.objects.filter(patient_scope(user), review_status=ReviewStatus.PENDING)
        .select_related("medication", "patient__profile", "patient__user")
        .order_by("created_at", "id")
    )


def review_findings(schedules: Sequence[Schedule]) -> dict[uuid.UUID, list[dict[str, str]]]:
    """The automated findings of each schedule (code, severity, message, rule; most severe first) as the review
    queue shows them and a review decision records them: computed now, from her current schedules, supplement
    plans and latest labs, in a fixed number of queries. A schedule without findings has an empty list."""
    found = findings_for(schedules)
    return {
        schedule.pk: [
            {"code": f.code, "severity": f.severity.value, "message": f.message, "rule": f.rule}
            for f in found.get(schedule.pk, [])
        ]
        for schedule in schedules
    }


def review_history(*, schedule_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[ReviewDecision]]:
    """Every review decision on these schedules, newest first, with who decided: one query for all."""
    history: dict[uuid.UUID, list[ReviewDecision]] = {}
    rows = (
        ReviewDecision.objects.filter(schedule_id__in=schedule_ids)
        .select_related("reviewer")
        .order_by("schedule_id", "-created_at", "-id")
    )
    for decision in rows:
        history.setdefault(decision.schedule_id, []).append(decision)
    return history


def with_list_adherence(schedules: QuerySet[Schedule], *, now: datetime | None = None) -> QuerySet[Any]:
    """Annotate schedules with the stored 90-day PDC in force at `now` (``list_pdc``, None: not measured yet) and
    the days it is over (``list_pdc_days``): today's figure, or tomorrow's once her midnight has passed
    (``adherence_next_at``), so the list moves at the same instant as the live figure, before any job runs."""
    now = now or clock.now()
    turned = Q(adherence_next_at__isnull=False, adherence_next_at__lte=now)
    return schedules.annotate(
        list_pdc=Case(When(turned, then=F("adherence_pdc_next")), default=F("adherence_pdc")),
        list_pdc_days=Case(When(turned, then=F("adherence_days_next")), default=F("adherence_days")),
    )


def filter_adherence_below(rows: QuerySet[Patient], threshold: Decimal) -> QuerySet[Patient]:
    """Patients with an active schedule whose 90-day PDC in force now is below `threshold`: the stored figure, the
    same as GET .../adherence/?window=90 at this moment once a caller has refreshed any stale one
    (services.adherence_catch_up: nothing to do unless the low_adherence job has been down for a day)."""
    low = with_list_adherence(Schedule.objects.filter(patient=OuterRef("pk"), status=ScheduleStatus.ACTIVE)).filter(
        list_pdc__lt=threshold
    )
    return rows.filter(Exists(low))


def ai_list_adherence(patient: Any) -> QuerySet[Any]:
    """Her active aromatase-inhibitor schedules with their 90-day PDC in force now (``with_list_adherence``), lowest
    first: `patient` is a Patient or an OuterRef to one (issue 15: the AI's adherence, apart from bone medicines')."""
    return with_list_adherence(
        Schedule.objects.filter(
            patient=patient, status=ScheduleStatus.ACTIVE, medication__drug_class=DrugClass.AROMATASE_INHIBITOR
        )
    ).order_by(F("list_pdc").asc(nulls_last=True), "id")


def filter_ai_adherence_below(rows: QuerySet[Patient], threshold: Decimal) -> QuerySet[Patient]:
    """Patients with an active aromatase-inhibitor schedule whose 90-day PDC in force now is below `threshold` (the
    stored figure, as filter_adherence_below; same unit: 0-1)."""
    return rows.filter(Exists(ai_list_adherence(OuterRef("pk")).filter(list_pdc__lt=threshold)))


def filter_injection_state(rows: QuerySet[Patient], state: str) -> QuerySet[Patient]:
    """Patients with an injectable schedule in this state, as the injection watch last recorded it."""
    return rows.filter(Exists(Schedule.objects.filter(patient=OuterRef("pk"), injection_state=state)))
