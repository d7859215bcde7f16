"""Send the reminders that are due: plan the nudges that are due, then claim, decide, push and record batch by batch
until none is left (one batch: `apps.reminders.batch`; claims and their finaliser: `claims`; nudges and the sources'
follow-ups: `follow_ups`). While one batch waits on the push provider, the run claims and decides the next: the
provider call overlaps the database work instead of the run waiting on each."""

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from django.db import connections, transaction

from apps.reminders.batch import Batch, DispatchReport, prepare, record, send
from apps.reminders.claims import BATCH
from apps.reminders.follow_ups import plan_nudges
from backend import clock
from backend.push import DeliveryResult, PushMessage

__all__ = ["BATCH", "DispatchReport", "dispatch"]


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
        checked, created = plan_nudges(now=now or clock.now(), limit=BATCH)
        report.nudges += created
        if checked < BATCH:
            break
    # Inside a caller's transaction another thread's connection could not see the batch's rows (a dead device
    # would stay active): then each batch is pushed and recorded in this thread before the next is claimed.
    provider = None if transaction.get_connection().in_atomic_block else ThreadPoolExecutor(1, "push")
    in_flight: tuple[Batch, Future[list[DeliveryResult]]] | None = None
    try:
        for number in range(max_batches):
            batch = prepare(now=now or clock.now(), report=report, limit=BATCH)
            if in_flight is not None:  # its push had the time of this claim to answer
                (previous, pushed), in_flight = in_flight, None
                record(previous, pushed.result(), report=report)
            if batch is None:
                break
            if provider is None:
                record(batch, send(batch.pairs), report=report)
            else:
                in_flight = (batch, provider.submit(_send_in_thread, batch.pairs))
            if len(batch.occurrences) < BATCH:
                break
            if number == 0 and on_backlog is not None:
                on_backlog()
    finally:
        if in_flight is not None:  # claimed and maybe pushed: recorded whatever stopped the run
            record(in_flight[0], in_flight[1].result(), report=report)
        if provider is not None:
            provider.shutdown()
    return report


def _send_in_thread(pairs: Sequence[tuple[Any, PushMessage]]) -> list[DeliveryResult]:
    try:
        return send(pairs)
    finally:
        # This thread opens a connection only to deactivate dead devices: never leave one open behind it.
        connections.close_all()
