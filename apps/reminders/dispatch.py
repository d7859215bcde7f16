"""Send the reminders that are due: claim a batch (SKIP LOCKED on PostgreSQL), decide each one (pure rules), push,
and record every delivery. A claim has a deadline: a worker killed mid-batch leaves claims that the next run takes
again after `REMINDER_CLAIM_SECONDS` (setting; default `CLAIM_SECONDS`). That bounds the window in which a reminder
could be pushed twice: only a killed worker's batch, at most once more each, and not before its claims lapse.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, PositiveSmallIntegerField, Q, When

from apps.accounts.models import Patient
from apps.medications.models import DoseRecord, DrugClass, Schedule
from apps.medications.selectors import recurrence_of
from apps.profiles.models import PatientProfile
from apps.reminders import rules
from apps.reminders.devices import devices_by_user
from apps.reminders.models import (
    ON_DEVICE_REASON,
    Delivery,
    OccurrenceKind,
    OccurrenceState,
    ReminderOccurrence,
    ReminderPreference,
)
from backend import clock
from backend.push import PushMessage, send_messages
from backend.recurrence import next_occurrence, to_instant
from backend.reminder_sources import live_sources
from backend.sync_versions import on_device, pulled_through

log = logging.getLogger(__name__)
CLAIM_SECONDS = 120  # default; longer than a batch takes (200 provider calls at worst), short enough to retry soon
MONTHLY_SKIP_WITHIN_DAYS = 7  # DOMAIN A3 (ibandronate): skip the catch-up when the next dose is this close
BATCH = 500


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    skipped: int = 0
    expired: int = 0
    failed: int = 0
    retrying: int = 0
    nudges: int = 0  # follow-up nudges created for doses still unrecorded after their grace period
    errors: list[str] = field(default_factory=list)


def claim(*, now: datetime, limit: int = BATCH) -> tuple[list[ReminderOccurrence], datetime]:
    """Claim due occurrences (pending and due, or claimed by a worker whose deadline passed)."""
    until = now + timedelta(seconds=getattr(settings, "REMINDER_CLAIM_SECONDS", CLAIM_SECONDS))
    due = Q(state=OccurrenceState.PENDING, next_attempt_at__lte=now) | Q(
        state=OccurrenceState.CLAIMED, claimed_until__lt=now
    )
    with transaction.atomic():
        ids = list(
            ReminderOccurrence.objects.filter(due)
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            # A retake (its worker died or hung) counts as an attempt: a row that kills workers ends up given up.
            retaken = Case(
                When(state=OccurrenceState.CLAIMED, then=F("attempts") + 1),
                default=F("attempts"),
                output_field=PositiveSmallIntegerField(),
            )
            ReminderOccurrence.objects.filter(pk__in=ids).update(
                state=OccurrenceState.CLAIMED, claimed_until=until, attempts=retaken
            )
    rows = list(ReminderOccurrence.objects.filter(pk__in=ids).only(*_OCCURRENCE_FIELDS))
    return rows, until


_OCCURRENCE_FIELDS = [f.name for f in ReminderOccurrence._meta.concrete_fields if f.name != "patient"] + ["patient_id"]


@dataclass(frozen=True)
class PatientContext:
    """What deciding and pushing need of a patient: read per batch by primary key, three index lookups (joining
    the patient into the claimed rows made PostgreSQL hash the whole patient table each batch)."""

    user_id: Any
    timezone: str
    quiet_start: time | None
    quiet_end: time | None
    detail_opt_in: bool
    reminders_enabled: bool
    nudges_enabled: bool
    nudge_after_minutes: int


def _contexts(patient_ids: set[Any]) -> dict[Any, PatientContext]:
    users = dict(Patient.objects.filter(pk__in=patient_ids).values_list("pk", "user_id"))
    default = ReminderPreference()
    prefs: dict[Any, tuple[bool, bool, int]] = {
        pk: (enabled, nudges, after)
        for pk, enabled, nudges, after in ReminderPreference.objects.filter(pk__in=patient_ids).values_list(
            "pk", "reminders_enabled", "nudges_enabled", "nudge_after_minutes"
        )
    }
    fallback = (default.reminders_enabled, default.nudges_enabled, default.nudge_after_minutes)
    profiles = PatientProfile.objects.filter(pk__in=patient_ids).values_list(
        "pk", "timezone", "quiet_hours_start", "quiet_hours_end", "push_detail_opt_in"
    )
    return {
        pk: PatientContext(users.get(pk), zone, start, end, opt_in, *prefs.get(pk, fallback))
        for pk, zone, start, end, opt_in in profiles
    }


@dataclass(frozen=True)
class Recorded:
    """The doses a batch's medication reminders could be about: (schedule, date) they are for (`occurrence_on`, or
    the day taken when the app did not say), and (schedule, day taken) whatever they were for."""

    for_date: frozenset[tuple[Any, Any]] = frozenset()
    taken_on: frozenset[tuple[Any, Any]] = frozenset()


def _recorded(occurrences: list[ReminderOccurrence]) -> Recorded:
    medication = [o for o in occurrences if o.source_kind == "medication"]
    if not medication:
        return Recorded()
    schedule_ids = {o.source_id for o in medication}
    dates = {o.local_date for o in medication} | {o.dose_date for o in medication if o.dose_date}
    doses = DoseRecord.objects.filter(
        Q(taken_on__in=dates) | Q(occurrence_on__in=dates), schedule_id__in=schedule_ids
    ).values_list("schedule_id", "taken_on", "occurrence_on")
    rows = list(doses)
    return Recorded(
        for_date=frozenset((s, occurrence_on or taken_on) for s, taken_on, occurrence_on in rows),
        taken_on=frozenset((s, taken_on) for s, taken_on, _ in rows),
    )


def _live(occurrences: list[ReminderOccurrence]) -> set[tuple[str, Any]]:
    """Which occurrences' sources still exist and are active (one query per source kind in the batch)."""
    ids_by_kind: dict[str, set[Any]] = defaultdict(set)
    for occurrence in occurrences:
        ids_by_kind[occurrence.source_kind].add(occurrence.source_id)
    return live_sources(ids_by_kind)


def _is_recorded(occurrence: ReminderOccurrence, recorded: Recorded) -> bool:
    """A reminder or nudge is for its dose date only (yesterday's dose recorded late this morning does not silence
    today's); a next-morning catch-up also stops when any dose was taken that morning (A3: never two on one day)."""
    dose_date = occurrence.dose_date or occurrence.local_date
    if (occurrence.source_id, dose_date) in recorded.for_date:
        return True
    return occurrence.kind == OccurrenceKind.NEXT_MORNING and (
        (occurrence.source_id, occurrence.local_date) in recorded.taken_on
    )


class _Finisher:
    """Writes the batch's outcomes in a few statements whatever its size: occurrences with the same outcome are
    finalised together, and only those whose claim still holds (a claim retaken after its deadline belongs to
    another worker now). Values that differ per row (a quiet-hours end, a nudge time, an error) go in one more
    statement per outcome, in the same transaction."""

    PER_ROW = ("next_attempt_at", "follow_up_at", "reason")

    def __init__(self, until: datetime) -> None:
        self.until = until
        self.groups: dict[str, tuple[dict[str, Any], list[tuple[ReminderOccurrence, dict[str, Any]]]]] = {}

    def add(self, occurrence: ReminderOccurrence, **changes: Any) -> None:
        per_row = {name: changes.pop(name) for name in self.PER_ROW if name in changes}
        key = repr(sorted(changes.items())) + repr(sorted(per_row))
        self.groups.setdefault(key, (changes, []))[1].append((occurrence, per_row))

    def flush(self) -> set[Any]:
        """Apply every outcome; the ids whose claim held (and so were finalised by this worker)."""
        held: set[Any] = set()
        for common, rows in self.groups.values():
            held |= self._apply(common, rows)
        self.groups.clear()
        return held

    def _apply(self, common: dict[str, Any], rows: list[tuple[ReminderOccurrence, dict[str, Any]]]) -> set[Any]:
        ids = [occurrence.pk for occurrence, _ in rows]
        varying = [name for name in rows[0][1] if len({repr(values[name]) for _, values in rows}) > 1]
        changes = {**common, **{k: v for k, v in rows[0][1].items() if k not in varying}}
        with transaction.atomic():
            mine = ReminderOccurrence.objects.filter(
                pk__in=ids, state=OccurrenceState.CLAIMED, claimed_until=self.until
            )
            updated = mine.update(**changes)
            if updated == len(ids):
                held = set(ids)
            elif updated:
                # Some claims lapsed and were retaken (a retake sets a later deadline): ours still carry our deadline.
                ours = ReminderOccurrence.objects.filter(pk__in=ids, claimed_until=self.until, state=changes["state"])
                held = set(ours.values_list("pk", flat=True))
            else:
                held = set()
            if varying and held:
                objs = []
                for occurrence, values in rows:
                    if occurrence.pk in held:
                        for name in varying:
                            setattr(occurrence, name, values[name])
                        objs.append(occurrence)
                ReminderOccurrence.objects.bulk_update(objs, varying)
        return held


def dispatch_batch(*, now: datetime, report: DispatchReport, limit: int | None = None) -> int:
    """Claim up to `limit` due occurrences, decide each, push all that are to be sent in the providers' batch calls
    (different messages in one call), then record the outcomes in a few statements."""
    occurrences, until = claim(now=now, limit=limit or BATCH)
    report.claimed += len(occurrences)
    if not occurrences:
        return 0
    recorded = _recorded(occurrences)
    live = _live(occurrences)
    contexts = _contexts({o.patient_id for o in occurrences})
    devices = devices_by_user(user_ids={c.user_id for c in contexts.values()})
    cursors = pulled_through({o.patient_id for o in occurrences})  # what her devices hold (issue 6, apps/sync)
    finisher = _Finisher(until)
    deliveries: list[Delivery] = []
    to_send: list[ReminderOccurrence] = []
    fired_on_device: list[ReminderOccurrence] = []
    expired: list[ReminderOccurrence] = []
    for occurrence in occurrences:
        context = contexts.get(occurrence.patient_id)
        try:
            if context is None:
                raise ValueError("the patient has no profile")
            if occurrence.attempts >= rules.MAX_ATTEMPTS:  # only a row retaken again and again gets here
                decision: rules.Decision = rules.GiveUp(f"given up after {occurrence.attempts} attempts")
            elif (occurrence.source_kind, occurrence.source_id) not in live:
                decision = rules.Skip("its schedule or plan was stopped or removed")
            else:
                decision = _decide(occurrence, context, now=now, recorded=recorded)
        except Exception as exc:  # a malformed row is recorded and skipped, never the batch
            log.exception("dispatch failed for occurrence %s", occurrence.pk)
            report.errors.append(str(occurrence.pk))
            finisher.add(occurrence, state=OccurrenceState.FAILED, reason=f"error: {exc}"[:200], finished_at=now)
            continue
        if isinstance(decision, rules.GiveUp):
            finisher.add(occurrence, state=OccurrenceState.FAILED, reason=decision.reason, finished_at=now)
            report.failed += 1
        elif isinstance(decision, rules.Defer):
            finisher.add(
                occurrence, state=OccurrenceState.PENDING, next_attempt_at=decision.until, reason=decision.reason
            )
            report.deferred += 1
        elif isinstance(decision, rules.Skip | rules.Expire):
            is_skip = isinstance(decision, rules.Skip)
            state = OccurrenceState.SKIPPED if is_skip else OccurrenceState.EXPIRED
            finisher.add(occurrence, state=state, reason=decision.reason, finished_at=now)
            deliveries.append(
                Delivery(occurrence=occurrence, platform="", outcome="skipped", error=decision.reason, at=now)
            )
            report.skipped += is_skip
            report.expired += not is_skip
            if not is_skip:
                expired.append(occurrence)
        elif rules.left_to_device(
            kind=occurrence.kind,
            held_by_device=on_device(cursors, patient_id=occurrence.patient_id, version=occurrence.version),
        ):
            # Her app already holds it in this version and fires it itself: no second notification. Its
            # follow-ups are planned as for a pushed one (the nudge is pushed if the dose stays unrecorded).
            finisher.add(
                occurrence,
                state=OccurrenceState.SKIPPED,
                reason=ON_DEVICE_REASON,
                finished_at=now,
                follow_up_at=_nudge_time(occurrence, context),
            )
            deliveries.append(
                Delivery(occurrence=occurrence, platform="", outcome="skipped", error=ON_DEVICE_REASON, at=now)
            )
            report.skipped += 1
            fired_on_device.append(occurrence)
        elif not devices.get(context.user_id):
            finisher.add(occurrence, state=OccurrenceState.SKIPPED, reason="no registered device", finished_at=now)
            deliveries.append(
                Delivery(occurrence=occurrence, platform="", outcome="skipped", error="no device", at=now)
            )
            report.skipped += 1
        else:
            to_send.append(occurrence)

    sent = _push(
        to_send, contexts=contexts, devices=devices, now=now, finisher=finisher, deliveries=deliveries, report=report
    )
    held = finisher.flush()
    Delivery.objects.bulk_create(deliveries, batch_size=1000)
    sent = [o for o in sent if o.pk in held]
    fired = sent + [o for o in fired_on_device if o.pk in held]  # by the provider or by her app
    report.sent += len(sent)
    try:
        _create_follow_ups(sent=fired, expired=[o for o in expired if o.pk in held], contexts=contexts)
    except Exception:  # the pushes are recorded; a follow-up bug must not stop the run
        log.exception("could not plan the follow-ups of a batch")
        report.errors.append("follow-ups")
    return len(occurrences)


def _decide(
    occurrence: ReminderOccurrence, context: PatientContext, *, now: datetime, recorded: Recorded
) -> rules.Decision:
    return rules.decide(
        now=now,
        due_at=occurrence.due_at,
        expires_at=occurrence.expires_at,
        zone=clock.zone(context.timezone),
        quiet_start=context.quiet_start,
        quiet_end=context.quiet_end,
        reminders_enabled=context.reminders_enabled,
        already_recorded=_is_recorded(occurrence, recorded),
    )


def _push(
    occurrences: list[ReminderOccurrence],
    *,
    contexts: dict[Any, PatientContext],
    devices: dict[Any, list[Any]],
    now: datetime,
    finisher: _Finisher,
    deliveries: list[Delivery],
    report: DispatchReport,
) -> list[ReminderOccurrence]:
    """Push every occurrence to every device of its patient in one `send_messages` call; the ones sent."""
    pairs: list[tuple[Any, PushMessage]] = []
    owners: list[ReminderOccurrence] = []
    for occurrence in occurrences:
        # DESIGN privacy: the drug is named only when the patient opted in.
        context = contexts[occurrence.patient_id]
        body = occurrence.text_detailed if context.detail_opt_in else occurrence.text_generic
        message = PushMessage(
            title="BoneSync", body=body, data={"occurrence": str(occurrence.pk), "kind": occurrence.kind}
        )
        for device in devices[context.user_id]:
            pairs.append((device, message))
            owners.append(occurrence)
    results = send_messages(pairs) if pairs else []
    per_occurrence: dict[Any, list[tuple[str, bool, str]]] = defaultdict(list)
    for occurrence, result in zip(owners, results, strict=True):
        per_occurrence[occurrence.pk].append((result.outcome, result.transient, result.error))
        deliveries.append(
            Delivery(
                occurrence=occurrence,
                platform=result.platform,
                device_id=result.device_id,
                outcome=result.outcome,
                error=result.error[:300],
                at=now,
            )
        )
    sent: list[ReminderOccurrence] = []
    attempted = F("attempts") + 1
    for occurrence in occurrences:
        settlement = rules.settle(outcomes=per_occurrence[occurrence.pk], attempts=occurrence.attempts + 1)
        if isinstance(settlement, rules.Sent):
            finisher.add(
                occurrence,
                state=OccurrenceState.SENT,
                attempts=attempted,
                finished_at=now,
                reason="",
                follow_up_at=_nudge_time(occurrence, contexts[occurrence.patient_id]),
            )
            sent.append(occurrence)
        elif isinstance(settlement, rules.Retry):
            finisher.add(
                occurrence,
                state=OccurrenceState.PENDING,
                attempts=attempted,
                next_attempt_at=now + settlement.delay,
                reason="provider unavailable, will retry",
            )
            report.retrying += 1
        else:
            finisher.add(
                occurrence, state=OccurrenceState.FAILED, attempts=attempted, finished_at=now, reason=settlement.reason
            )
            report.failed += 1
    return sent


def _create_follow_ups(
    *, sent: list[ReminderOccurrence], expired: list[ReminderOccurrence], contexts: dict[Any, PatientContext]
) -> None:
    """The A3 next-morning catch-up, once the dose looks missed: a reminder or nudge that expired, a nudge that went
    out, or a reminder that went out with no nudge to follow it (one with a nudge waits for the nudge's check)."""
    maybe_missed = expired + [o for o in sent if _nudge_time(o, contexts[o.patient_id]) is None]
    rows = _next_mornings(maybe_missed)
    if rows:
        ReminderOccurrence.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)


def _nudge_time(occurrence: ReminderOccurrence, context: PatientContext) -> datetime | None:
    """When a sent medication reminder's follow-up check is due; None when it gets no nudge (switched off, or the
    grace period ends after the dose stops being useful)."""
    if occurrence.kind != OccurrenceKind.REMINDER or occurrence.source_kind != "medication":
        return None
    if not context.nudges_enabled:
        return None
    at = occurrence.due_at + timedelta(minutes=context.nudge_after_minutes)
    return at if at < occurrence.expires_at else None


def plan_nudges(*, now: datetime, limit: int = BATCH) -> tuple[int, int]:
    """Sent medication reminders whose grace period is over: a nudge (due at once) for each dose still unrecorded.
    Checked and cleared in one transaction, SKIP LOCKED: concurrent dispatchers never plan one twice.
    Answers (reminders checked, nudges created)."""
    with transaction.atomic():
        due = list(
            ReminderOccurrence.objects.filter(follow_up_at__lte=now)
            .order_by("follow_up_at")
            .select_for_update(skip_locked=True)[:limit]
        )
        if not due:
            return 0, 0
        recorded = _recorded(due)
        # Preferences as they are now: nudges switched off since the reminder went out means no nudge.
        switched_off = set(
            ReminderPreference.objects.filter(pk__in={o.patient_id for o in due}, nudges_enabled=False).values_list(
                "pk", flat=True
            )
        )
        nudges: list[ReminderOccurrence] = []
        for occurrence in due:
            if occurrence.patient_id in switched_off or _is_recorded(occurrence, recorded):
                continue
            try:
                nudges.append(_nudge(occurrence))
            except Exception:  # one malformed row loses its nudge, not everyone's
                log.exception("could not plan the nudge of occurrence %s", occurrence.pk)
        ReminderOccurrence.objects.bulk_create(nudges, ignore_conflicts=True, batch_size=1000)
        ReminderOccurrence.objects.filter(pk__in=[o.pk for o in due]).update(follow_up_at=None)
    return len(due), len(nudges)


def _nudge(occurrence: ReminderOccurrence) -> ReminderOccurrence:
    """The follow-up of a sent reminder whose dose is still not recorded after the grace period."""
    at = occurrence.follow_up_at or occurrence.due_at
    return ReminderOccurrence(
        patient_id=occurrence.patient_id,
        source_kind=occurrence.source_kind,
        source_id=occurrence.source_id,
        kind=OccurrenceKind.NUDGE,
        local_date=occurrence.local_date,
        dose_date=occurrence.dose_date or occurrence.local_date,
        local_time=occurrence.local_time,
        due_at=at,
        expires_at=occurrence.expires_at,
        text_generic=_still_to_do(occurrence.text_generic),
        text_detailed=_still_to_do(occurrence.text_detailed),
        next_attempt_at=at,
    )


def _still_to_do(text: str) -> str:
    return f"Still to do: {text[:1].lower()}{text[1:]}" if text else "Still to do"


def _next_mornings(occurrences: list[ReminderOccurrence]) -> list[ReminderOccurrence]:
    """DOMAIN A3: a missed weekly (or monthly) oral bisphosphonate is taken the next morning, never two on one day;
    a monthly one only when the next dose is more than 7 days away. The catch-up is created when the reminder (or
    its nudge) went out or expired with the dose unrecorded, and skipped at dispatch if the dose (for its date, or
    that morning) has been recorded by then."""
    kinds = (OccurrenceKind.REMINDER, OccurrenceKind.NUDGE)
    candidates = [o for o in occurrences if o.kind in kinds and o.source_kind == "medication"]
    if not candidates:
        return []
    schedules = (
        Schedule.objects.filter(
            pk__in={o.source_id for o in candidates}, medication__drug_class=DrugClass.ORAL_BISPHOSPHONATE
        )
        .exclude(unit="day")
        .select_related("medication", "patient__profile")
        .only(
            *("unit", "interval", "weekday", "month_day", "local_time", "starts_on", "ends_on"),
            *("medication__name", "patient__profile__timezone"),
        )
    )
    by_id = {s.pk: s for s in schedules}
    rows: list[ReminderOccurrence] = []
    for occurrence in candidates:
        schedule = by_id.get(occurrence.source_id)
        if schedule is None:
            continue
        zone = clock.zone(schedule.patient.profile.timezone)
        morning = occurrence.local_date + timedelta(days=1)
        due_at = to_instant(morning, schedule.local_time, zone)
        if schedule.unit == "month":
            upcoming = next_occurrence(
                recurrence_of(schedule),
                local_time=schedule.local_time,
                zone=zone,
                starts_on=schedule.starts_on,
                ends_on=schedule.ends_on,
                after=due_at - timedelta(seconds=1),
            )
            if upcoming is not None and (upcoming.local_date - morning).days <= MONTHLY_SKIP_WITHIN_DAYS:
                continue  # A3 (monthly): the next scheduled dose is close; skip rather than double up
        rows.append(
            ReminderOccurrence(
                patient_id=occurrence.patient_id,
                source_kind=occurrence.source_kind,
                source_id=occurrence.source_id,
                kind=OccurrenceKind.NEXT_MORNING,
                local_date=morning,
                local_time=schedule.local_time,
                due_at=due_at,
                dose_date=occurrence.local_date,
                # The dose's own window (a nudge keeps its reminder's local date and time, and its expiry).
                expires_at=due_at
                + (occurrence.expires_at - to_instant(occurrence.local_date, occurrence.local_time, zone)),
                text_generic="Missed yesterday's medicine? Take it this morning, never two on the same day",
                text_detailed=(
                    f"Missed your {schedule.medication.name.lower()} yesterday? Take it this morning as usual; "
                    "never two on the same day, then back to your usual day."
                ),
                next_attempt_at=due_at,
            )
        )
    return rows


def dispatch(
    *, now: datetime | None = None, max_batches: int = 1000, on_backlog: Callable[[], None] | None = None
) -> DispatchReport:
    """Plan the nudges that are due, then claim, push and record due reminders batch by batch until none is left.
    `on_backlog` is called once when the first batch comes back full: more are waiting, and the caller may ask
    other workers to join (SKIP LOCKED keeps them apart)."""
    report = DispatchReport()
    # Each batch reads the clock (unless a test fixes it): a long run's later claims get their own deadlines, and
    # quiet hours and expiry are judged at the time of sending.
    for _ in range(max_batches):  # nudges first, so that this run sends them too
        checked, created = plan_nudges(now=now or clock.now())
        report.nudges += created
        if checked < BATCH:
            break
    for number in range(max_batches):
        if dispatch_batch(now=now or clock.now(), report=report) < BATCH:
            break
        if number == 0 and on_backlog is not None:
            on_backlog()
    return report
