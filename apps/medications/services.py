"""Writes for schedules, dose records and reviews. Keyword-only, validated, atomic; announce what happened through
backend.events (DoseRecorded, PlanChanged, ReviewDecided)."""

import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from apps.accounts.models import Patient, User
from apps.medications.adherence import stored_adherence
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
from apps.medications.rules.checks import CHECK_THRESHOLDS, dose_in_mg
from apps.medications.rules.injection import (
    BANDS_BY_DRUG,
    InjectionState,
    InjectionStatus,
    next_change_date,
    next_due_date,
)
from apps.medications.selectors import injection_status_now, recurrence_of
from apps.medications.stock import counts_against, stock_doses_taken, stock_project
from backend import clock
from backend.client_ids import insert_or_replay, replayed, stated_body
from backend.events import DoseRecorded, PlanChanged, ReviewDecided, publish
from backend.recurrence import local_dates, recurrence_errors, to_instant
from backend.updates import apply_changes, refuse_unknown

CLOCK_SKEW = timedelta(minutes=5)  # a phone clock a little ahead is not "the future"
MAX_DOSE_AGE = timedelta(days=400)  # older records are history imports, not doses: refuse them here
SCHEDULE_FIELDS = ("dose", "unit", "interval", "weekday", "month_day", "local_time", "starts_on", "ends_on", "status")
# Any change to a schedule goes back to the pharmacist (API "Review"), its status too: stopping a denosumab may leave
# the patient without a follow-on (DOMAIN D5), and resuming a paused schedule brings back its interactions.
REVIEWED_FIELDS = frozenset(SCHEDULE_FIELDS)
# Drugs whose checks depend on the dose prescribed (DOMAIN A4: the zoledronic acid 5 mg limit and 4 mg steps).
DOSE_CHECKED_DRUGS = frozenset({"zoledronic_acid"})


def _validate_schedule(schedule: Schedule, *, dose_changed: bool = True) -> None:
    # The API nests these under "recurrence": name the fields the way the client sent them.
    errors = {f"recurrence.{name}": messages for name, messages in recurrence_errors(recurrence_of(schedule)).items()}
    if schedule.ends_on is not None and schedule.ends_on < schedule.starts_on:
        errors.setdefault("ends_on", []).append("The end date is before the start date.")
    if not errors and schedule.ends_on is not None:
        first = next(
            local_dates(
                recurrence_of(schedule),
                starts_on=schedule.starts_on,
                ends_on=schedule.ends_on,
                first=schedule.starts_on,
                last=schedule.ends_on,
            ),
            None,
        )
        if first is None:
            errors.setdefault("ends_on", []).append("With these dates the schedule would never fire.")
    if dose_changed and schedule.medication.code in DOSE_CHECKED_DRUGS:  # an old row may still be stopped
        errors.update(_dose_errors(schedule))
    today = clock.local_today(schedule.patient.profile.timezone)
    if schedule.starts_on > today + timedelta(days=366):
        errors.setdefault("starts_on", []).append("Starts more than a year ahead.")
    if schedule.starts_on < schedule.patient.profile.birth_date:
        errors.setdefault("starts_on", []).append("Starts before the patient was born.")
    if errors:
        raise ValidationError(errors)


def _dose_errors(schedule: Schedule) -> dict[str, list[str]]:
    """The renal check judges the prescribed dose, so it must be readable and within the drug's regimens."""
    mg = dose_in_mg(schedule.dose)
    if mg is None:
        return {"dose": ["Give the dose as an amount in mg, e.g. '3.5 mg': the renal dose check reads it."]}
    largest = CHECK_THRESHOLDS.zoledronic_acid_high_dose_mg  # DOMAIN A4/M5: 5 mg is the largest regimen
    if mg > largest:
        return {"dose": [f"{schedule.dose.strip()} is above the largest zoledronic acid dose ({largest} mg)."]}
    return {}


def _refresh_injection_due(schedule: Schedule, now: datetime) -> None:
    """D1/D2: the next due date counts from the last injection actually given; the watch rechecks now."""
    bands = BANDS_BY_DRUG.get(schedule.medication.injection_bands)
    if bands is None:
        return
    last_given = (
        DoseRecord.objects.filter(schedule=schedule, status=DoseStatus.TAKEN).aggregate(last=Max("taken_on"))["last"]
        if schedule.pk
        else None
    )
    schedule.next_due_on = next_due_date(last_given=last_given, first_due=schedule.starts_on, bands=bands)
    schedule.injection_next_check_at = now


@transaction.atomic
def schedule_create(
    *,
    actor: User,
    patient: Patient,
    medication: Medication,
    local_time: time,
    starts_on: date,
    dose: str = "",
    unit: str | None = None,
    interval: int | None = None,
    weekday: int | None = None,
    month_day: int | None = None,
    ends_on: date | None = None,
) -> Schedule:
    """A new schedule starts pending the pharmacist's review; reminders do not wait for it."""
    unit = unit or medication.default_unit
    schedule = Schedule(
        patient=patient,
        medication=medication,
        dose=dose or medication.dose,
        unit=unit,
        interval=interval or (medication.default_interval if unit == medication.default_unit else 1),
        # DOMAIN M1: a weekly dose falls on the patient's chosen weekday, by default the start date's.
        weekday=weekday if weekday is not None or unit != "week" else starts_on.weekday(),
        month_day=month_day if month_day is not None or unit != "month" else starts_on.day,
        local_time=local_time,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=actor,
        review_status=ReviewStatus.PENDING,
    )
    _validate_schedule(schedule)
    return _save_and_announce(schedule, clock.now())


@transaction.atomic
def schedule_update(*, actor: User, schedule: Schedule, **changes: Any) -> Schedule:
    refuse_unknown(changes, SCHEDULE_FIELDS)
    schedule = (
        Schedule.objects.select_for_update(of=("self",))
        .select_related("medication", "patient__profile")
        .get(pk=schedule.pk)
    )
    if schedule.status == ScheduleStatus.STOPPED:
        raise ValidationError({"status": ["A stopped schedule cannot change; create a new one."]})
    if "unit" in changes and changes["unit"] != schedule.unit:
        # A new unit brings its own day fields (DOMAIN M1: weekday of the start date by default).
        starts_on = changes.get("starts_on", schedule.starts_on)
        changes.setdefault("weekday", starts_on.weekday() if changes["unit"] == "week" else None)
        changes.setdefault("month_day", starts_on.day if changes["unit"] == "month" else None)
    if "interval" in changes and changes["interval"] is None:
        changes.pop("interval")
    changed = apply_changes(schedule, changes)
    if not changed:
        return schedule
    _validate_schedule(schedule, dose_changed="dose" in changed)
    now = clock.now()
    if "status" in changed:
        schedule.status_changed_at = now
        schedule.pauses = _pauses_after(schedule, now)
    if changed & REVIEWED_FIELDS:
        schedule.review_status = ReviewStatus.PENDING
    return _save_and_announce(schedule, now)


def _pauses_after(schedule: Schedule, now: datetime) -> list[dict[str, str | None]]:
    """Its pauses after a status change at `now` (DOMAIN P1: the PDC leaves paused days out). Her local date decides
    the day. Pausing opens a pause from today; resuming closes the open one: active again from today. Stopping a
    paused schedule leaves its pause open: she was not taking it on the day it stopped either (its active period ends
    that day anyway)."""
    today = clock.local_today(schedule.patient.profile.timezone, now).isoformat()
    pauses = [dict(p) for p in schedule.pauses]
    open_pause = next((p for p in reversed(pauses) if p.get("resumed_on") is None), None)
    if schedule.status == ScheduleStatus.PAUSED and open_pause is None:
        pauses.append({"paused_on": today, "resumed_on": None})
    elif schedule.status == ScheduleStatus.ACTIVE and open_pause is not None:
        open_pause["resumed_on"] = today
    return pauses


def _save_and_announce(schedule: Schedule, now: datetime) -> Schedule:
    """Save a created or changed schedule with its injection due date, and tell what reads her schedules: the
    review rechecks her other verified ones, her stored adherence is refreshed, PlanChanged is published."""
    _refresh_injection_due(schedule, now)
    schedule.save()
    stock_project(schedule)  # issue 17: paused, resumed or moved, its supply lasts to another date
    review_recheck(patient_id=schedule.patient_id, exclude=schedule.pk)
    adherence_refresh([schedule])
    publish(PlanChanged(patient_id=schedule.patient_id, plan_id=schedule.pk, plan_kind="medication"))
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: Schedule) -> None:
    """Remove a schedule entered by mistake (operators only: the API stops schedules instead). Everything that
    reads her schedules is told, as after a change: the review rechecks her other verified schedules, reminders are
    refreshed, and a stopped injectable that this schedule covered is judged again (DOMAIN D5 stopped)."""
    schedule = Schedule.objects.select_related("medication", "patient__profile").get(pk=schedule.pk)
    removed = schedule.pk
    schedule.delete()
    review_recheck(patient_id=schedule.patient_id)
    publish(PlanChanged(patient_id=schedule.patient_id, plan_id=removed, plan_kind="medication"))


@transaction.atomic
def ai_schedules_stop(*, patient_id: uuid.UUID, stopped_on: date) -> list[Schedule]:
    """She stopped her aromatase inhibitor on `stopped_on` (the first day off it; issue 15): each of her AI schedules
    not already stopped is stopped through schedule_update (reminders end, her stored adherence and its alert follow,
    the pharmacist sees the change), its last day the day before, unless it ends earlier or starts later."""
    rows = Schedule.objects.filter(patient_id=patient_id, medication__drug_class=DrugClass.AROMATASE_INHIBITOR).exclude(
        status=ScheduleStatus.STOPPED
    )
    patient = Patient.objects.select_related("user").get(pk=patient_id)
    stopped = []
    for schedule in rows:
        changes: dict[str, Any] = {"status": ScheduleStatus.STOPPED}
        last_day = stopped_on - timedelta(days=1)
        if schedule.starts_on <= last_day and (schedule.ends_on is None or schedule.ends_on > last_day):
            changes["ends_on"] = last_day
        stopped.append(schedule_update(actor=patient.user, schedule=schedule, **changes))
    return stopped


def _taken_on(patient: Patient, taken_at: datetime) -> date:
    return clock.local_today(patient.profile.timezone, taken_at)


def _check_dose(
    schedule: Schedule,
    *,
    taken_at: datetime,
    status: str,
    exclude: uuid.UUID | None,
    taken_days: Collection[date] | None = None,
) -> date:
    """The dose's local date, or ValidationError. `taken_days`: the days a dose is already recorded as taken on this
    schedule, when the caller knows them (a push's batch); otherwise they are read."""
    now = clock.now()
    if taken_at > now + CLOCK_SKEW:
        raise ValidationError({"taken_at": ["Cannot be in the future."]})
    if taken_at < now - MAX_DOSE_AGE:
        raise ValidationError({"taken_at": ["More than 400 days ago: ask the care team to import old records."]})
    taken_on = _taken_on(schedule.patient, taken_at)
    if status == DoseStatus.TAKEN and schedule.unit in ("week", "month"):  # DOMAIN A3: never two on one day
        if taken_days is not None:
            twice = taken_on in taken_days
        else:
            rows = DoseRecord.objects.filter(schedule=schedule, status=DoseStatus.TAKEN, taken_on=taken_on)
            twice = (rows if exclude is None else rows.exclude(pk=exclude)).exists()
        if twice:
            raise ValidationError(
                {"taken_at": [f"A dose is already recorded on {taken_on:%d %B %Y}; never take two on the same day."]}
            )
    return taken_on


@dataclass(frozen=True)
class RecordedDose:
    """A dose just written, with the schedule's next due date once it was (6-monthly injectables, DOMAIN D1/D2;
    None for other schedules): a push's batch moves the due date dose by dose, as one by one."""

    dose: DoseRecord
    next_due_on: date | None


@dataclass(frozen=True)
class DoseOutcome:
    dose: DoseRecord
    created: bool


@transaction.atomic
def dose_record(
    *,
    actor: User,
    patient: Patient,
    schedule: Schedule,
    id: uuid.UUID,
    taken_at: datetime,
    status: str = DoseStatus.TAKEN,
    source: str = "app",
    site: str = "",
    note: str = "",
    occurrence_on: date | None = None,
    stated: Collection[str] | None = None,
) -> DoseOutcome:
    """Record a dose. Re-posting the same id with the same values returns the stored record unchanged (phones
    retry); with other values in what the client stated (`stated`, the names it sent; None: all) it is a
    ConflictError naming them."""
    # One writer per schedule at a time: the A3 check, the retry check and the due-date update see each other.
    schedule = (
        Schedule.objects.select_for_update(of=("self",))
        .select_related("medication", "patient__profile")
        .get(pk=schedule.pk)
    )
    body = stated_body(
        {
            "schedule": ("schedule_id", schedule.pk),
            "taken_at": ("taken_at", taken_at),
            "status": ("status", status),
            "source": ("source", source),
            "site": ("site", site),
            "note": ("note", note),
            "occurrence_on": ("occurrence_on", occurrence_on),
        },
        stated,
    )
    existing = replayed(DoseRecord, id, body=body, patient_id=patient.pk)
    if existing is not None:
        return DoseOutcome(existing, created=False)
    dose = _new_dose(
        actor=actor,
        patient=patient,
        schedule=schedule,
        item=NewDose(id, schedule, taken_at, status, source, site, note, occurrence_on),
        taken_days=None,
    )
    stored, created = insert_or_replay(dose, body=body, patient_id=patient.pk)
    if not created:  # the same id raced in through another schedule's lock, with the same values
        return DoseOutcome(stored, created=False)
    _after_dose_change(schedule, dose)
    taken = dose.status == DoseStatus.TAKEN and counts_against(schedule, dose.taken_at)
    stock_doses_taken(schedule, int(taken))  # issue 17; a replay returned above
    return DoseOutcome(dose, created=True)


@dataclass(frozen=True)
class NewDose:
    """A new dose as dose_record takes it (a sync push's batch: `schedule` is hers, read by the caller)."""

    id: uuid.UUID
    schedule: Schedule
    taken_at: datetime
    status: str = DoseStatus.TAKEN
    source: str = "app"
    site: str = ""
    note: str = ""
    occurrence_on: date | None = None


def _new_dose(
    *, actor: User, patient: Patient, schedule: Schedule, item: NewDose, taken_days: Collection[date] | None
) -> DoseRecord:
    """The dose row, checked by every rule of a new dose (schedule not stopped, not in the future nor too old, A3,
    the fields' own), unsaved; ValidationError otherwise. `schedule` is the locked row."""
    if schedule.status == ScheduleStatus.STOPPED:
        raise ValidationError({"schedule": ["This schedule is stopped; doses cannot be recorded on it."]})
    taken_on = _check_dose(schedule, taken_at=item.taken_at, status=item.status, exclude=None, taken_days=taken_days)
    dose = DoseRecord(
        id=item.id,
        patient=patient,
        schedule=schedule,
        taken_at=item.taken_at,
        taken_on=taken_on,
        status=item.status,
        source=item.source,
        site=item.site,
        note=item.note,
        occurrence_on=item.occurrence_on,
        recorded_by=actor,
    )
    dose.full_clean(exclude=["patient", "schedule", "recorded_by"], validate_unique=False)
    return dose


def doses_record_new(
    *, actor: User, patient: Patient, doses: list[NewDose]
) -> tuple[set[uuid.UUID], dict[uuid.UUID, ValidationError]]:
    """Many new doses at once (a sync push's backlog), by dose_record's rules and with its effects, as if recorded one
    by one in this order: each checked (A3 also against the doses before it in the batch), the valid ones inserted in
    a few statements, then each schedule's effects once, with all its new doses (due date, stored adherence, the
    announcement: injection alerts settle on the dose that made her no longer late). Returns (inserted ids, refused
    ids with why). Ids already recorded (by anyone), or all of them when another request inserts one meanwhile, are
    neither: the caller records those with dose_record (replay, conflict or refusal as usual)."""
    if not doses:
        return set(), {}
    # One writer per schedule at a time, as dose_record: locked in one statement.
    schedules = {
        schedule.pk: schedule
        for schedule in Schedule.objects.select_for_update(of=("self",))
        .select_related("medication", "patient__profile")
        .filter(pk__in={item.schedule.pk for item in doses})
        .order_by("pk")
    }
    taken = set(DoseRecord.objects.filter(pk__in=[item.id for item in doses]).values_list("pk", flat=True))
    taken_days = _taken_days(schedules, doses)
    last_given = _last_given(schedules.values())  # before the batch, for the due date after each of its doses
    rows: list[DoseRecord] = []
    refused: dict[uuid.UUID, ValidationError] = {}
    for item in doses:
        schedule = schedules.get(item.schedule.pk)
        if item.id in taken or schedule is None:  # recorded before, or the schedule just deleted: dose_record answers
            continue
        days = taken_days.setdefault(schedule.pk, set())
        try:
            dose = _new_dose(actor=actor, patient=patient, schedule=schedule, item=item, taken_days=days)
        except ValidationError as exc:
            refused[item.id] = exc
            continue
        if dose.status == DoseStatus.TAKEN:
            days.add(dose.taken_on)  # A3 for the batch's later doses, as one by one
        rows.append(dose)
    if not rows:
        return set(), refused
    try:
        with transaction.atomic():
            DoseRecord.objects.bulk_create(rows, batch_size=500)
    except IntegrityError:  # one of them raced in from another request: leave them all to dose_record, in order
        return set(), {}
    by_schedule: dict[uuid.UUID, list[DoseRecord]] = {}
    for dose in rows:
        by_schedule.setdefault(dose.schedule_id, []).append(dose)
    now = clock.now()
    with adherence_deferred():  # each schedule's stored adherence once, with all its doses
        for schedule_id, written in by_schedule.items():
            schedule = schedules[schedule_id]
            _after_doses_recorded(schedule, _move_injection_due(schedule, written, last_given.get(schedule_id), now))
            stock_doses_taken(  # issue 17
                schedule,
                sum(dose.status == DoseStatus.TAKEN and counts_against(schedule, dose.taken_at) for dose in written),
            )
    return {dose.pk for dose in rows}, refused


def _taken_days(schedules: dict[uuid.UUID, Schedule], doses: list[NewDose]) -> dict[uuid.UUID, set[date]]:
    """For the A3 check of a batch: the days among the batch's on which a weekly or monthly schedule of it already has
    a dose taken (one query)."""
    checked = {pk for pk, schedule in schedules.items() if schedule.unit in ("week", "month")}  # DOMAIN A3
    if not checked:
        return {}
    days = {
        _taken_on(schedules[item.schedule.pk].patient, item.taken_at) for item in doses if item.schedule.pk in checked
    }
    found: dict[uuid.UUID, set[date]] = {}
    rows = DoseRecord.objects.filter(schedule_id__in=checked, status=DoseStatus.TAKEN, taken_on__in=days)
    for schedule_id, taken_on in rows.values_list("schedule_id", "taken_on"):
        found.setdefault(schedule_id, set()).add(taken_on)
    return found


def _last_given(schedules: Iterable[Schedule]) -> dict[uuid.UUID, date]:
    """The last injection given on each injectable schedule (one query), as _refresh_injection_due reads it."""
    injectable = [s.pk for s in schedules if BANDS_BY_DRUG.get(s.medication.injection_bands) is not None]
    if not injectable:
        return {}
    rows = (
        DoseRecord.objects.filter(schedule_id__in=injectable, status=DoseStatus.TAKEN)
        .order_by()
        .values("schedule_id")
        .annotate(last=Max("taken_on"))
        .values_list("schedule_id", "last")
    )
    return dict(rows)


def _move_injection_due(
    schedule: Schedule, doses: list[DoseRecord], last_given: date | None, now: datetime
) -> list[RecordedDose]:
    """D1/D2 for a batch of new doses on one schedule: the next due date after each of them in turn (as
    _refresh_injection_due would have set it, one by one), the last one set on the schedule."""
    bands = BANDS_BY_DRUG.get(schedule.medication.injection_bands)
    if bands is None:
        return [RecordedDose(dose, None) for dose in doses]
    recorded: list[RecordedDose] = []
    for dose in doses:
        if dose.status == DoseStatus.TAKEN and (last_given is None or dose.taken_on > last_given):
            last_given = dose.taken_on
        due = next_due_date(last_given=last_given, first_due=schedule.starts_on, bands=bands)
        recorded.append(RecordedDose(dose, due))
    schedule.next_due_on = recorded[-1].next_due_on
    schedule.injection_next_check_at = now
    return recorded


@transaction.atomic
def dose_correct(*, actor: User, dose: DoseRecord, **changes: Any) -> DoseRecord:
    refuse_unknown(changes, ("taken_at", "status", "site", "note", "occurrence_on"))
    schedule = (
        Schedule.objects.select_for_update(of=("self",))
        .select_related("medication", "patient__profile")
        .get(pk=dose.schedule_id)
    )
    dose = DoseRecord.objects.select_for_update().get(pk=dose.pk)
    was_taken = dose.status == DoseStatus.TAKEN and counts_against(schedule, dose.taken_at)
    apply_changes(dose, changes)
    dose.taken_on = _check_dose(schedule, taken_at=dose.taken_at, status=dose.status, exclude=dose.pk)
    dose.full_clean(exclude=["patient", "schedule", "recorded_by"], validate_unique=False)
    dose.save()
    _after_dose_change(schedule, dose)
    # issue 17: taken -> skipped (an undo) puts its units back; skipped -> taken takes them off.
    # A dose taken before her last count is in the count either way: it neither comes off nor goes back.
    stock_doses_taken(
        schedule, int(dose.status == DoseStatus.TAKEN and counts_against(schedule, dose.taken_at)) - int(was_taken)
    )
    return dose


def _after_dose_change(schedule: Schedule, dose: DoseRecord) -> None:
    if schedule.medication.injection_bands:
        _refresh_injection_due(schedule, clock.now())
    injectable = BANDS_BY_DRUG.get(schedule.medication.injection_bands) is not None
    _after_doses_recorded(schedule, [RecordedDose(dose, schedule.next_due_on if injectable else None)])


def _after_doses_recorded(schedule: Schedule, recorded: list[RecordedDose]) -> None:
    """What follows doses written on one schedule (one over REST, or a push's batch), its due date already moved:
    store the due date, refresh the stored adherence, announce them."""
    for item in recorded:
        item.dose.schedule = schedule
    if schedule.medication.injection_bands:
        schedule.save(update_fields=["next_due_on", "injection_next_check_at", "updated_at"])
    deferred = _deferred_adherence.get()
    if deferred is None:
        adherence_refresh([schedule])
    else:
        deferred.setdefault(schedule.pk, schedule)
    _announce_doses_recorded(schedule, recorded)


def _announce_doses_recorded(schedule: Schedule, recorded: list[RecordedDose]) -> None:
    """The one place the medications layer announces written doses: one DoseRecorded each, in the order written,
    with the due date each left (a push's batch moves it dose by dose, as one by one)."""
    for item in recorded:
        publish(
            DoseRecorded(
                patient_id=item.dose.patient_id,
                schedule_id=schedule.pk,
                dose_id=item.dose.pk,
                status=item.dose.status,
                taken_on=item.dose.taken_on,
                injection_bands=schedule.medication.injection_bands,
                next_due_on=item.next_due_on,
            )
        )


# Schedules whose stored adherence a batch of dose writes (a sync push) refreshes once, when the batch ends.
_deferred_adherence: ContextVar[dict[uuid.UUID, Schedule] | None] = ContextVar("deferred_adherence", default=None)


@contextmanager
def adherence_deferred() -> Iterator[None]:
    """Dose writes inside refresh each schedule's stored adherence once, at the end (with every dose of the batch
    counted), instead of after every dose: a backlog of 400 daily doses pushed at once recomputes it once, not 400
    times. The figure stored is the same; a batch that raises stores nothing (its transaction rolls back)."""
    if _deferred_adherence.get() is not None:  # already inside a batch: its end refreshes
        yield
        return
    pending: dict[uuid.UUID, Schedule] = {}
    token = _deferred_adherence.set(pending)
    try:
        yield
    finally:
        _deferred_adherence.reset(token)
    if pending:
        adherence_refresh(list(pending.values()))


ADHERENCE_FIELDS = (
    "adherence_pdc",
    "adherence_days",
    "adherence_checked_on",
    "adherence_pdc_next",
    "adherence_days_next",
    "adherence_next_at",
    "adherence_judge_at",
)


def adherence_refresh(schedules: list[Schedule], *, now: datetime | None = None) -> list[Schedule]:
    """Store the 90-day PDC the patient list shows and filters on (DOMAIN P1), for her local today and tomorrow, on
    these schedules; a schedule that is not active stores none. Called on every write that moves the figure (dose,
    schedule, her time zone) and by the low_adherence job once her day has turned, so the list always equals the
    adherence API. Queryset updates: the schedule's synced columns and version do not move. Returns the schedules
    with the stored values set on them."""
    now = now or clock.now()
    active = [s for s in schedules if s.status == ScheduleStatus.ACTIVE]
    figures = stored_adherence(active, now=now) if active else {}
    for schedule in schedules:
        figure = figures.get(schedule.pk)
        values: dict[str, Any] = dict.fromkeys(ADHERENCE_FIELDS)
        values["adherence_judge_at"] = now  # the low_adherence job judges the alert on its next run
        if figure is not None:
            values = {
                "adherence_pdc": figure.pdc,
                "adherence_days": figure.days,
                "adherence_checked_on": figure.on,
                "adherence_pdc_next": figure.pdc_next,
                "adherence_days_next": figure.days_next,
                "adherence_next_at": figure.next_at,
                "adherence_judge_at": now,
            }
        for name, value in values.items():
            setattr(schedule, name, value)
    Schedule.objects.bulk_update(schedules, ADHERENCE_FIELDS)  # one UPDATE of these columns only
    return schedules


# A stored figure is good until the end of the day after the one it was computed on: 23 hours after that day's start
# (adherence_next_at) is earlier than its end even on a 25-hour day, so a catch-up from then on is never late.
STORED_FIGURE_HOURS = timedelta(hours=23)


def adherence_catch_up(*, now: datetime | None = None) -> int:
    """Before a list shows or filters on the stored figure: refresh any that has outlived the day after it (only if
    the low_adherence job, every 5 minutes, has not run for about a day), so the list never shows a stale PDC.
    One indexed query when nothing is stale; returns how many were refreshed."""
    now = now or clock.now()
    stale = list(
        Schedule.objects.filter(status=ScheduleStatus.ACTIVE, adherence_next_at__lte=now - STORED_FIGURE_HOURS)
    )
    if stale:
        adherence_refresh(stale, now=now)
    return len(stale)


def adherence_day_turned(schedules: list[Schedule], *, now: datetime) -> None:
    """The low_adherence job's refresh: the active schedules among these whose patient's day has turned (or that
    never had a stored figure) store today's figure and tomorrow's."""
    turned = [
        s
        for s in schedules
        if s.status == ScheduleStatus.ACTIVE and (s.adherence_next_at is None or s.adherence_next_at <= now)
    ]
    adherence_refresh(turned, now=now)


def adherence_judged(schedules: list[Schedule]) -> None:
    """The low_adherence job has judged these schedules' alert: an active one is judged again when her day turns
    (adherence_next_at) or a write moves its figure, an inactive one only after a write."""
    for schedule in schedules:
        schedule.adherence_judge_at = schedule.adherence_next_at if schedule.status == ScheduleStatus.ACTIVE else None
    Schedule.objects.bulk_update(schedules, ["adherence_judge_at"])


def patient_adherence_refresh(*, patient_id: uuid.UUID) -> None:
    """Her time zone changed: her local today, and so every stored figure's day, may have moved."""
    adherence_refresh(list(Schedule.objects.filter(patient_id=patient_id, status=ScheduleStatus.ACTIVE)))


def patient_injection_recheck(*, patient_id: uuid.UUID) -> None:
    """Her time zone changed: the watch's next check was her old zone's local midnight, and her local today (so her
    D5 state) may have moved by a day. Every injectable of hers is checked again now, in the new zone."""
    Schedule.objects.filter(patient_id=patient_id).exclude(medication__injection_bands="").update(
        injection_next_check_at=clock.now()
    )


@transaction.atomic
def review_decide(
    *, reviewer: User, schedule: Schedule, decision: str, note: str, findings: list[dict[str, str]]
) -> ReviewDecision:
    note = note.strip()
    if decision == ReviewDecision.Decision.REQUEST_CHANGES and not note:
        raise ValidationError({"note": ["Say what should change: a note is required."]})
    if decision == ReviewDecision.Decision.VERIFY and not note and any(f.get("severity") == "high" for f in findings):
        raise ValidationError(
            {"note": ["A high finding is open: say why it is safe to go ahead (a note is required)."]}
        )
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if schedule.review_status != ReviewStatus.PENDING:
        raise ValidationError({"decision": [f"This schedule is not awaiting review ({schedule.review_status})."]})
    schedule.review_status = (
        ReviewStatus.VERIFIED if decision == ReviewDecision.Decision.VERIFY else ReviewStatus.CHANGES_REQUESTED
    )
    schedule.save(update_fields=["review_status", "updated_at"])
    made = ReviewDecision.objects.create(
        schedule=schedule, decision=decision, note=note, reviewer=reviewer, findings=findings
    )
    # A request for changes becomes the coordinators' worklist item; a verification resolves it (apps.alerts).
    publish(
        ReviewDecided(
            patient_id=schedule.patient_id,
            schedule_id=schedule.pk,
            decision_id=made.pk,
            reviewer_id=reviewer.pk,
            decision=decision,
        )
    )
    return made


MAX_BULK_VERIFY = 50


def _named(schedule: Schedule) -> str:
    user = schedule.patient.user
    return f"{schedule.medication.name} for {user.full_name or user.email} ({schedule.pk})"


@transaction.atomic
def review_verify_many(
    *, reviewer: User, schedules: Sequence[Schedule], findings: dict[uuid.UUID, list[dict[str, str]]], note: str = ""
) -> list[ReviewDecision]:
    """Verify several schedules at once, all or none: only schedules with no automated finding may be verified
    together (each finding needs the pharmacist's own look), and each must still await review. One decision per
    schedule, each announced as review_decide does; any refusal writes nothing."""
    if not schedules:
        raise ValidationError({"schedules": ["Choose at least one schedule to verify."]})
    if len(schedules) > MAX_BULK_VERIFY:
        raise ValidationError({"schedules": [f"Verify at most {MAX_BULK_VERIFY} schedules at once."]})
    with_findings = [s for s in schedules if findings.get(s.pk)]
    if with_findings:
        names = ", ".join(_named(s) for s in with_findings)
        raise ValidationError(
            {"schedules": [f"These have automated findings: review them one by one ({names}). Nothing was verified."]}
        )
    waiting = [s for s in schedules if s.review_status != ReviewStatus.PENDING]
    if waiting:
        names = ", ".join(_named(s) for s in waiting)
        raise ValidationError({"schedules": [f"Not awaiting review: {names}. Nothing was verified."]})
    decisions = []
    for schedule in sorted(schedules, key=lambda s: s.pk):  # a fixed lock order: two bulk verifications never deadlock
        decisions.append(
            review_decide(
                reviewer=reviewer, schedule=schedule, decision=ReviewDecision.Decision.VERIFY, note=note, findings=[]
            )
        )
    return decisions


def review_recheck(*, patient_id: uuid.UUID, exclude: uuid.UUID | None = None) -> list[Schedule]:
    """After a change to the patient's other schedules or her supplement plans: each verified schedule of hers whose
    automated findings now include one its pharmacist did not see when she verified it goes back to pending (e.g. a
    calcium plan moved to 10 minutes after her alendronate, or the follow-on of a stopped denosumab stopped too).
    Findings she saw and accepted do not bring it back. Returns the schedules put back."""
    rows = Schedule.objects.filter(patient_id=patient_id, review_status=ReviewStatus.VERIFIED)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    verified = list(rows.select_related("medication", "patient__profile"))
    if not verified:
        return []
    seen: dict[uuid.UUID, set[tuple[str, str, str]]] = {}
    decisions = ReviewDecision.objects.filter(schedule__in=verified).order_by("schedule_id", "-created_at", "-id")
    for decision in decisions.only("schedule_id", "findings"):
        seen.setdefault(
            decision.schedule_id, {(f["code"], f["severity"], f["message"]) for f in decision.findings or []}
        )
    current = findings_for(verified)
    back = [
        schedule
        for schedule in verified
        if {(f.code, f.severity.value, f.message) for f in current.get(schedule.pk, [])} - seen.get(schedule.pk, set())
    ]
    if back:
        Schedule.objects.filter(pk__in=[s.pk for s in back], review_status=ReviewStatus.VERIFIED).update(
            review_status=ReviewStatus.PENDING, updated_at=clock.now()
        )
    return back


# --- injection watch -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InjectionTransition:
    schedule: Schedule
    previous: str
    status: InjectionStatus


def _next_injection_check(schedule: Schedule, status: InjectionStatus, now: datetime) -> datetime | None:
    """The instant the schedule's D5 state next changes (her zone's local midnight of that date), or None."""
    bands = BANDS_BY_DRUG[schedule.medication.injection_bands]
    timezone = schedule.patient.profile.timezone
    change = next_change_date(
        next_due=status.next_due,
        today=clock.local_today(timezone, now),
        stopped=status.state == InjectionState.STOPPED,
        bands=bands,
        ends_on=schedule.ends_on,
    )
    return to_instant(change, time(0, 0), clock.zone(timezone)) if change is not None else None


@dataclass(frozen=True)
class InjectionClaims:
    transitions: list[InjectionTransition]
    held_elsewhere: set[uuid.UUID]  # due, but another transaction held the row: left for the next run


def injection_checks_claim(*, schedules: Sequence[Schedule], now: datetime) -> InjectionClaims:
    """Claim these schedules' due checks at once (the watch's batch): of two workers racing, one gets each
    transition and the other nothing. `schedules` may be stale reads: only rows still holding the state and check
    instant that were read are claimed, locked as read (FOR UPDATE SKIP LOCKED: the watch never waits on a writer,
    whose write makes the row due again), and every new state and next check goes in one UPDATE. Must run inside
    the caller's transaction, so that what the claims decide (alerts, notices) commits with them or not at all. The
    objects passed are left as read."""
    due = {s.pk: s for s in schedules if s.injection_next_check_at is not None and s.injection_next_check_at <= now}
    if not due:
        return InjectionClaims([], set())
    held = list(
        Schedule.objects.select_for_update(skip_locked=True)
        .filter(pk__in=due)
        .values_list("pk", "injection_next_check_at", "injection_state")
    )
    as_read = {
        pk
        for pk, check_at, state in held
        if (check_at, state) == (due[pk].injection_next_check_at, due[pk].injection_state)
    }
    locked = set(due) - {pk for pk, _, _ in held}  # skipped: another transaction holds them (or they are gone)
    transitions: list[InjectionTransition] = []
    claimed: list[Schedule] = []
    for schedule in schedules:
        if schedule.pk not in as_read:
            continue
        status = injection_status_now(schedule, now)
        if status is None:  # no longer an injectable with a due date: nothing to watch
            claimed.append(
                Schedule(pk=schedule.pk, injection_state=schedule.injection_state, injection_next_check_at=None)
            )
            continue
        claimed.append(
            Schedule(
                pk=schedule.pk,
                injection_state=status.state,
                injection_next_check_at=_next_injection_check(schedule, status, now),
            )
        )
        transitions.append(InjectionTransition(schedule=schedule, previous=schedule.injection_state, status=status))
    Schedule.objects.bulk_update(claimed, ["injection_state", "injection_next_check_at"])
    return InjectionClaims(transitions, locked)


def stopped_protection_record(
    *, schedule: Schedule, covered: bool, now: datetime, next_check: datetime | None
) -> datetime | None:
    """DOMAIN D5 `stopped`: record whether a stopped injectable's patient is covered by a follow-on, and when its
    stop check looks again. Returns when the unprotected episode began (kept from an earlier check, else `now`), or
    None when she is covered. Call inside the transaction holding the schedule's row lock: the watch and a
    follow-on's writer then agree on the episode's start."""
    rows = Schedule.objects.filter(pk=schedule.pk)
    since = None if covered else (rows.values_list("unprotected_since", flat=True).get() or now)
    rows.update(unprotected_since=since, injection_next_check_at=next_check)
    return since
