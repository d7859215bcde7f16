"""The refill reminder (issue 17): its own kind, `refill`, one source for every stocked item (medication schedules
and supplement plans, apps.medications.stock).

When an item's refill need opens (its `refill_due_on`, stored on each stock write: the supply left covers fewer
than its N days), she is reminded at 10:00 her time that day, and once more 3 days later; then no more for that
need (her app shows it until she refills). A need found after 10:00 on its day (she counted her tablets in the
afternoon) is first pushed the next morning. A refill or a count that closes the need withdraws what is pending
(the source's slots follow the stored date) and anything already claimed is skipped (`done`). Quiet hours, staleness
and exactly-once are the dispatcher's, as for every kind. A paused or stopped plan, or a clinic-given injection,
never has one."""

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from apps.medications.rules.stock import REPEAT_AFTER_DAYS
from apps.medications.stock import StockKind, stock_kinds
from backend import clock
from backend.lookups import among
from backend.recurrence import to_instant
from backend.reminder_sources import DueReminder, ReminderSlot, ReminderSource

REFILL_TIME = time(10, 0)  # design: a sensible morning hour her time, after the usual morning doses


def reminder_dates(item: Any, zone: Any) -> list[date]:
    """The local dates of the reminders of the item's open refill need: the day it opened (the next day if it was
    found after 10:00 that day) and 3 days later."""
    anchor: date = item.refill_due_on
    first = anchor
    counted = item.stock_counted_at
    if counted is not None and to_instant(first, REFILL_TIME, zone) < counted:
        first = counted.astimezone(zone).date() + timedelta(days=1)
        if first < anchor:
            first = anchor
    return [first, first + timedelta(days=REPEAT_AFTER_DAYS)]


def _rows(kind: StockKind, patient_ids: Iterable[UUID] | None) -> Any:
    rows = kind.in_force_rows().filter(stock_on_hand__isnull=False, refill_due_on__isnull=False)
    if patient_ids is not None:
        rows = rows.filter(patient_id__in=list(patient_ids))
    return rows


class RefillReminderSource(ReminderSource):
    kind = "refill"
    stale_after_minutes = 12 * 60  # design: a trip to the pharmacy can wait until the afternoon (quiet hours defer)

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        # A need is reminded at most REPEAT_AFTER_DAYS (+1 for a late find) after it opened.
        earliest = (window_start - timedelta(days=REPEAT_AFTER_DAYS + 2)).date()
        latest = (window_end + timedelta(days=1)).date()
        for kind in stock_kinds():
            rows = _rows(kind, patient_ids).filter(refill_due_on__gte=earliest, refill_due_on__lte=latest)
            for item in rows.iterator(chunk_size=500):
                zone = clock.zone(item.patient.profile.timezone)
                for day in reminder_dates(item, zone):
                    due_at = to_instant(day, REFILL_TIME, zone)
                    if window_start <= due_at < window_end:
                        yield self.slot(
                            item,
                            local_date=day,
                            local_time=due_at.astimezone(zone).time(),
                            due_at=due_at,
                            dose_date=item.refill_due_on,  # the need it is about: done once that closes
                            text_generic=kind.text_generic(),
                            text_detailed=kind.text_detailed(item),
                        )

    def live(self, source_ids: Collection[UUID]) -> set[UUID]:
        live: set[UUID] = set()
        for kind in stock_kinds():
            rows = _rows(kind, None).filter(among("pk", source_ids))
            live |= set(rows.values_list("pk", flat=True))
        return live

    def done(self, reminders: Sequence[DueReminder]) -> set[Any]:
        """Done when the need it is about closed or moved (refilled, counted, no longer needed)."""
        if not reminders:
            return set()
        ids = {r.source_id for r in reminders}
        open_needs: dict[UUID, date | None] = {}
        for kind in stock_kinds():
            rows = kind.model._default_manager.filter(among("pk", ids), stock_on_hand__isnull=False)
            for pk, due in rows.exclude(refill_due_on=None).values_list("pk", "refill_due_on"):
                open_needs[pk] = due
        return {r.pk for r in reminders if open_needs.get(r.source_id) != r.dose_date}
