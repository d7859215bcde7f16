"""One batch of due reminders: claimed, each decided by the pure rules, pushed to every device of its patient in
the providers' batch calls, and every outcome recorded in a few statements.

Three steps, so that a run can overlap the provider call of one batch with the database work of the next
(`apps.reminders.dispatch`): `prepare` (claim, read, decide), `send` (the provider call only), `record` (settle,
finalise where the claim still holds, deliveries, follow-ups). Nothing here knows a reminder kind: what is
specific to one (is it done, its staleness, its nudges, its follow-ups) is asked of its source.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F

from apps.reminders import rules
from apps.reminders.claims import Finisher, claim
from apps.reminders.devices import devices_by_user
from apps.reminders.follow_ups import nudge_time, plan_when_missed
from apps.reminders.models import ON_DEVICE_REASON, Delivery, OccurrenceState, ReminderOccurrence
from apps.reminders.patients import PatientContext, patient_contexts
from backend import clock
from backend.push import DeliveryResult, PushMessage, send_messages
from backend.reminder_sources import done_reminders, live_sources
from backend.sync_versions import on_device, pulled_through

log = logging.getLogger(__name__)


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    skipped: int = 0
    expired: int = 0
    failed: int = 0
    retrying: int = 0
    nudges: int = 0  # follow-up nudges created for reminders whose thing was still not done after the grace period
    errors: list[str] = field(default_factory=list)


# A delivery to write: occurrence id, platform, device id, outcome, error, at (Delivery's columns, in this order).
DeliveryRow = tuple[Any, str, int | None, str, str, datetime]
_DELIVERY_COLUMNS = ("occurrence_id", "platform", "device_id", "outcome", "error", "at")


@dataclass
class Batch:
    """A claimed batch, decided: what is left to push (`pairs`, one per device, `owners` their occurrences) and
    the outcomes already known, waiting in the finisher until the push is settled."""

    now: datetime
    occurrences: list[ReminderOccurrence]
    contexts: dict[Any, PatientContext]
    finisher: Finisher
    deliveries: list[DeliveryRow] = field(default_factory=list)
    to_send: list[ReminderOccurrence] = field(default_factory=list)
    pairs: list[tuple[Any, PushMessage]] = field(default_factory=list)
    owners: list[ReminderOccurrence] = field(default_factory=list)
    fired_on_device: list[ReminderOccurrence] = field(default_factory=list)
    expired: list[ReminderOccurrence] = field(default_factory=list)


def dispatch_batch(*, now: datetime, report: DispatchReport, limit: int) -> int:
    """Claim up to `limit` due occurrences, decide, push and record them; how many were claimed."""
    batch = prepare(now=now, report=report, limit=limit)
    if batch is None:
        return 0
    record(batch, send(batch.pairs), report=report)
    return len(batch.occurrences)


def prepare(*, now: datetime, report: DispatchReport, limit: int) -> Batch | None:
    """Claim a batch and decide each occurrence; None when nothing is due."""
    occurrences, until = claim(now=now, limit=limit)
    report.claimed += len(occurrences)
    if not occurrences:
        return None
    patient_ids = {o.patient_id for o in occurrences}
    done = done_reminders(occurrences)
    live = live_sources(_ids_by_kind(occurrences))
    contexts = patient_contexts(patient_ids)
    devices = devices_by_user(user_ids={c.user_id for c in contexts.values()})
    cursors = pulled_through(patient_ids)  # what her devices hold (issue 6, apps/sync)
    batch = Batch(now=now, occurrences=occurrences, contexts=contexts, finisher=Finisher(until))
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
                decision = _decide(occurrence, context, now=now, done=occurrence.pk in done)
        except Exception as exc:  # a malformed row is recorded and skipped, never the batch
            log.exception("dispatch failed for occurrence %s", occurrence.pk)
            report.errors.append(str(occurrence.pk))
            batch.finisher.add(occurrence, state=OccurrenceState.FAILED, reason=f"error: {exc}"[:200], finished_at=now)
            continue
        _apply(batch, occurrence, decision, context, report=report, cursors=cursors, devices=devices)
    for occurrence in batch.to_send:
        # DESIGN privacy: the drug is named only when the patient opted in.
        context = contexts[occurrence.patient_id]
        body = occurrence.text_detailed if context.detail_opt_in else occurrence.text_generic
        message = PushMessage(
            title="BoneSync", body=body, data={"occurrence": str(occurrence.pk), "kind": occurrence.kind}
        )
        for device in devices[context.user_id]:
            batch.pairs.append((device, message))
            batch.owners.append(occurrence)
    return batch


def send(pairs: Sequence[tuple[Any, PushMessage]]) -> list[DeliveryResult]:
    """The provider call: every message of the batch in the providers' batch calls, one result per pair."""
    return send_messages(pairs) if pairs else []


def record(batch: Batch, results: list[DeliveryResult], *, report: DispatchReport) -> None:
    """Settle each pushed occurrence, finalise the batch where the claim still holds, write its deliveries and
    plan its follow-ups."""
    now, finisher = batch.now, batch.finisher
    per_occurrence: dict[Any, list[tuple[str, bool, str]]] = defaultdict(list)
    for occurrence, result in zip(batch.owners, results, strict=True):
        per_occurrence[occurrence.pk].append((result.outcome, result.transient, result.error))
        batch.deliveries.append(
            (occurrence.pk, result.platform, result.device_id, result.outcome, result.error[:300], now)
        )
    sent: list[ReminderOccurrence] = []
    attempted = F("attempts") + 1
    for occurrence in batch.to_send:
        settlement = rules.settle(outcomes=per_occurrence[occurrence.pk], attempts=occurrence.attempts + 1)
        if isinstance(settlement, rules.Sent):
            finisher.add(
                occurrence,
                state=OccurrenceState.SENT,
                attempts=attempted,
                finished_at=now,
                reason="",
                follow_up_at=nudge_time(occurrence, batch.contexts[occurrence.patient_id]),
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
    held = finisher.flush()
    _write_deliveries(batch.deliveries)
    sent = [o for o in sent if o.pk in held]
    report.sent += len(sent)
    fired = sent + [o for o in batch.fired_on_device if o.pk in held]  # by the provider or by her app
    try:
        plan_when_missed(fired=fired, expired=[o for o in batch.expired if o.pk in held], contexts=batch.contexts)
    except Exception:  # the pushes are recorded; a follow-up bug must not stop the run
        log.exception("could not plan the follow-ups of a batch")
        report.errors.append("follow-ups")


def _write_deliveries(rows: list[DeliveryRow]) -> None:
    """The batch's delivery rows in one statement: COPY on PostgreSQL (no model objects, no statement to build)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Delivery.objects.bulk_create([Delivery(**dict(zip(_DELIVERY_COLUMNS, row, strict=True))) for row in rows])
        return
    table = connection.ops.quote_name(Delivery._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(_DELIVERY_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _ids_by_kind(occurrences: list[ReminderOccurrence]) -> dict[str, set[Any]]:
    ids: dict[str, set[Any]] = defaultdict(set)
    for occurrence in occurrences:
        ids[occurrence.source_kind].add(occurrence.source_id)
    return ids


def _decide(occurrence: ReminderOccurrence, context: PatientContext, *, now: datetime, done: bool) -> rules.Decision:
    return rules.decide(
        now=now,
        due_at=occurrence.due_at,
        expires_at=occurrence.expires_at,
        zone=clock.zone(context.timezone),
        quiet_start=context.quiet_start,
        quiet_end=context.quiet_end,
        reminders_enabled=context.reminders_enabled,
        already_recorded=done,
    )


def _apply(
    batch: Batch,
    occurrence: ReminderOccurrence,
    decision: rules.Decision,
    context: PatientContext,
    *,
    report: DispatchReport,
    cursors: dict[Any, Any],
    devices: dict[Any, list[Any]],
) -> None:
    """Note a decided occurrence's outcome, or put it among those to push."""
    now, finisher = batch.now, batch.finisher
    if isinstance(decision, rules.GiveUp):
        finisher.add(occurrence, state=OccurrenceState.FAILED, reason=decision.reason, finished_at=now)
        report.failed += 1
    elif isinstance(decision, rules.Defer):
        finisher.add(occurrence, state=OccurrenceState.PENDING, next_attempt_at=decision.until, reason=decision.reason)
        report.deferred += 1
    elif isinstance(decision, rules.Skip | rules.Expire):
        is_skip = isinstance(decision, rules.Skip)
        state = OccurrenceState.SKIPPED if is_skip else OccurrenceState.EXPIRED
        finisher.add(occurrence, state=state, reason=decision.reason, finished_at=now)
        batch.deliveries.append((occurrence.pk, "", None, "skipped", decision.reason, now))
        report.skipped += is_skip
        report.expired += not is_skip
        if not is_skip:
            batch.expired.append(occurrence)
    elif rules.left_to_device(
        kind=occurrence.kind,
        held_by_device=on_device(cursors, patient_id=occurrence.patient_id, version=occurrence.version),
    ):
        # Her app already holds it in this version and fires it itself: no second notification. Its follow-ups
        # are planned as for a pushed one (the nudge is pushed if the thing stays not done).
        finisher.add(
            occurrence,
            state=OccurrenceState.SKIPPED,
            reason=ON_DEVICE_REASON,
            finished_at=now,
            follow_up_at=nudge_time(occurrence, context),
        )
        batch.deliveries.append((occurrence.pk, "", None, "skipped", ON_DEVICE_REASON, now))
        report.skipped += 1
        batch.fired_on_device.append(occurrence)
    elif not devices.get(context.user_id):
        finisher.add(occurrence, state=OccurrenceState.SKIPPED, reason="no registered device", finished_at=now)
        batch.deliveries.append((occurrence.pk, "", None, "skipped", "no device", now))
        report.skipped += 1
    else:
        batch.to_send.append(occurrence)
