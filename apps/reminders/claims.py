"""A dispatcher's claim on a batch of due occurrences, and the finaliser that records their outcomes only where the
claim still holds.

A claim has a deadline: a worker killed mid-batch leaves claims that the next run takes again after
`REMINDER_CLAIM_SECONDS` (setting; default `CLAIM_SECONDS`). That bounds the window in which a reminder could be
pushed twice: only a killed worker's batch, at most once more each, and not before its claims lapse.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, PositiveSmallIntegerField, Q, When
from django.db.models.expressions import BaseExpression

from apps.reminders.models import OccurrenceState, ReminderOccurrence
from backend.lookups import among

BATCH = 500  # rows per claim: one FCM send_each call carries up to 500 messages
CLAIM_SECONDS = 120  # default; longer than a batch takes (200 provider calls at worst), short enough to retry soon
# What deciding, pushing and following up read of a claimed row: reading less (the timestamps above all) is a good
# part of a batch's time; the finaliser sets the other columns it writes.
_FIELDS = (
    *("patient_id", "source_kind", "source_id", "kind", "local_date", "local_time", "dose_date", "due_at"),
    *("expires_at", "text_generic", "text_detailed", "state", "attempts", "version"),
)


def claim(*, now: datetime, limit: int = BATCH) -> tuple[list[ReminderOccurrence], datetime]:
    """Claim due occurrences (pending and due, or claimed by a worker whose deadline passed). On PostgreSQL one
    statement locks (SKIP LOCKED: concurrent dispatchers take disjoint rows), claims and returns them; elsewhere a
    locking read, then the claim."""
    until = now + timedelta(seconds=getattr(settings, "REMINDER_CLAIM_SECONDS", CLAIM_SECONDS))
    if connection.vendor == "postgresql":
        rows = _claim_returning(now=now, until=until, limit=limit)
    else:
        rows = _claim_then_update(now=now, until=until, limit=limit)
    rows.sort(key=lambda row: (row.due_at, row.pk))
    return rows, until


# The columns read of a claimed row, in the model's order (as `Model.from_db` takes them).
_READ = [f for f in ReminderOccurrence._meta.concrete_fields if f.attname in {"id", *_FIELDS}]


def _claim_returning(*, now: datetime, until: datetime, limit: int) -> list[ReminderOccurrence]:
    table = connection.ops.quote_name(ReminderOccurrence._meta.db_table)
    columns = ", ".join(f"o.{connection.ops.quote_name(f.column)}" for f in _READ)
    pending, claimed = OccurrenceState.PENDING, OccurrenceState.CLAIMED
    # The SET sees the row as it was: a retake (its worker died or hung) counts as an attempt, so a row that kills
    # workers ends up given up. RETURNING gives the row as the claim left it (claimed syncs as pending: no version).
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH due AS (
                    SELECT id FROM {table}
                    WHERE (state = %s AND next_attempt_at <= %s) OR (state = %s AND claimed_until < %s)
                    ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED)
                UPDATE {table} o SET state = %s, claimed_until = %s,
                    attempts = CASE WHEN o.state = %s THEN o.attempts + 1 ELSE o.attempts END
                FROM due WHERE o.id = due.id RETURNING {columns}""",  # noqa: S608 - names from the model only
            [pending, now, claimed, now, limit, claimed, until, claimed],
        )
        names = [f.attname for f in _READ]
        return [ReminderOccurrence.from_db(connection.alias, names, row) for row in cursor.fetchall()]


def _claim_then_update(*, now: datetime, until: datetime, limit: int) -> list[ReminderOccurrence]:
    due = Q(state=OccurrenceState.PENDING, next_attempt_at__lte=now) | Q(
        state=OccurrenceState.CLAIMED, claimed_until__lt=now
    )
    with transaction.atomic():
        rows = list(
            ReminderOccurrence.objects.filter(due)
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .only(*_FIELDS)[:limit]
        )
        if rows:
            retaken = Case(
                When(state=OccurrenceState.CLAIMED, then=F("attempts") + 1),
                default=F("attempts"),
                output_field=PositiveSmallIntegerField(),
            )
            ReminderOccurrence.objects.filter(among("pk", [row.pk for row in rows])).update(
                state=OccurrenceState.CLAIMED, claimed_until=until, attempts=retaken
            )
    for row in rows:  # as the update left them
        if row.state == OccurrenceState.CLAIMED:
            row.attempts += 1
        row.state, row.claimed_until = OccurrenceState.CLAIMED, until
    return rows


class Finisher:
    """Writes the batch's outcomes in a few statements whatever its size: occurrences with the same outcome are
    finalised together, and only those whose claim still holds (a claim retaken after its deadline belongs to
    another worker now). Values that differ per row (a quiet-hours end, a nudge time, an error) go in one more
    statement per outcome, in the same transaction."""

    PER_ROW = ("next_attempt_at", "follow_up_at", "reason")

    def __init__(self, until: datetime) -> None:
        self.until = until
        self.groups: dict[Any, tuple[dict[str, Any], list[tuple[ReminderOccurrence, dict[str, Any]]]]] = {}

    def add(self, occurrence: ReminderOccurrence, **changes: Any) -> None:
        per_row = {name: changes.pop(name) for name in self.PER_ROW if name in changes}
        # Rows with the same common values go together: an expression (attempts + 1) by identity, as the batch
        # passes the same one for all (the group's first row keeps it alive, so no other can take its id).
        key = (
            tuple(
                sorted(
                    (name, ("expression", id(v)) if isinstance(v, BaseExpression) else v) for name, v in changes.items()
                )
            ),
            tuple(sorted(per_row)),
        )
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
        varying = [name for name in rows[0][1] if len({values[name] for _, values in rows}) > 1]
        changes = {**common, **{k: v for k, v in rows[0][1].items() if k not in varying}}
        with transaction.atomic():
            mine = ReminderOccurrence.objects.filter(
                among("pk", ids), state=OccurrenceState.CLAIMED, claimed_until=self.until
            )
            updated = mine.update(**changes)
            if updated == len(ids):
                held = set(ids)
            elif updated:
                # Some claims lapsed and were retaken (a retake sets a later deadline): ours still carry our deadline.
                ours = ReminderOccurrence.objects.filter(
                    among("pk", ids), claimed_until=self.until, state=changes["state"]
                )
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
