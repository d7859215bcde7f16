"""The dispatcher batches across occurrences: one provider call carries many patients' different messages, and a
batch costs the same number of statements whatever its size (no per-occurrence queries)."""

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.reminders.dispatch import dispatch
from apps.reminders.materialise import materialise
from apps.reminders.models import Delivery, ReminderOccurrence
from apps.reminders.rules import Failed, Retry, Sent, settle
from tests.factories import PatientFactory, make_schedule

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DUE = datetime(2026, 3, 23, 7, tzinfo=UTC)  # Monday 07:00 London (GMT): the weekly alendronate rush


def patients_due(count: int, make_device, platform: str = "fcm") -> list:
    patients = [PatientFactory.create() for _ in range(count)]
    for patient in patients:
        # Monday 2026-03-02 start: weekly on Mondays at 07:00.
        make_schedule(patient, "alendronate", starts_on=date(2026, 3, 2), local_time=time(7))
        make_device(patient.user, platform)
    materialise(now=NOW, patient_ids=[p.id for p in patients])
    return patients


def test_one_fcm_call_carries_every_patients_own_message(db, make_device, fake_fcm) -> None:
    patients = patients_due(3, make_device)
    report = dispatch(now=DUE)
    assert report.sent == 3
    assert len(fake_fcm.calls) == 1 and len(fake_fcm.calls[0]) == 3  # one send_each for three occurrences
    due = ReminderOccurrence.objects.filter(due_at=DUE, kind="reminder")
    assert {m.data["occurrence"] for m in fake_fcm.delivered} == {str(pk) for pk in due.values_list("pk", flat=True)}
    assert set(due.values_list("state", flat=True)) == {"sent"}
    assert Delivery.objects.filter(outcome="sent").count() == 3
    assert {o.patient_id for o in due} == {p.id for p in patients}


def test_apns_sends_each_token_its_own_message(db, make_device, fake_apns) -> None:
    patients_due(3, make_device, platform="apns")
    assert dispatch(now=DUE).sent == 3
    assert len({m.data["occurrence"] for m in fake_apns.delivered}) == 3


def test_a_dead_token_among_many_fails_only_its_own_occurrence(db, make_device, fake_fcm) -> None:
    patients = patients_due(3, make_device)
    dead = patients[1].user.gcmdevice_set.get()
    fake_fcm.unregister(dead.registration_id)
    report = dispatch(now=DUE)
    assert (report.sent, report.failed) == (2, 1)
    failed = ReminderOccurrence.objects.get(due_at=DUE, state="failed")
    assert failed.patient_id == patients[1].id
    dead.refresh_from_db()
    assert dead.active is False


def count_dispatch_queries(make_device, count: int) -> int:
    patients_due(count, make_device)
    with CaptureQueriesContext(connection) as queries:
        report = dispatch(now=DUE)
    assert report.sent == count
    return len(queries)


@pytest.mark.django_db
def test_statements_per_batch_do_not_grow_with_its_size(make_device, fake_fcm) -> None:
    small = count_dispatch_queries(make_device, 3)
    ReminderOccurrence.objects.all().delete()
    large = count_dispatch_queries(make_device, 30)
    assert large == small, f"{small} statements for 3 reminders, {large} for 30"


def test_settle_sent_when_any_device_took_it() -> None:
    assert settle(outcomes=[("dead", False, "gone"), ("sent", False, "")], attempts=1) == Sent()


def test_settle_retries_a_transient_failure_with_backoff_until_attempts_run_out() -> None:
    assert isinstance(settle(outcomes=[("failed", True, "UNAVAILABLE")], attempts=1), Retry)
    assert settle(outcomes=[("failed", True, "UNAVAILABLE")], attempts=5) == Failed("UNAVAILABLE")


def test_settle_fails_a_permanent_failure_with_every_reason() -> None:
    outcomes = [("failed", False, "auth rejected"), ("dead", False, "")]
    assert settle(outcomes=outcomes, attempts=1) == Failed("auth rejected; dead")


def test_a_full_first_batch_calls_for_help_once(db, make_device, fake_fcm, monkeypatch) -> None:
    import apps.reminders.dispatch as dispatcher

    monkeypatch.setattr(dispatcher, "BATCH", 2)
    patients_due(5, make_device)
    calls: list[str] = []
    report = dispatch(now=DUE, on_backlog=lambda: calls.append("help"))
    assert report.sent == 5
    assert calls == ["help"]  # once, after the first full batch, not per batch
    ReminderOccurrence.objects.filter(due_at=DUE).update(state="pending")
    Delivery.objects.all().delete()
    monkeypatch.setattr(dispatcher, "BATCH", 10)
    calls.clear()
    assert dispatch(now=DUE, on_backlog=lambda: calls.append("help")).sent == 5
    assert calls == []  # everything fitted in one batch: nobody else is needed


def test_the_dispatch_task_calls_one_more_run_onto_its_own_queue(db, make_device, fake_fcm, monkeypatch) -> None:
    import apps.reminders.dispatch as dispatcher
    from apps.reminders.tasks import dispatch_task

    monkeypatch.setattr(dispatcher, "BATCH", 2)
    patients_due(5, make_device)
    enqueued: list[dict] = []
    monkeypatch.setattr(dispatch_task, "apply_async", lambda **options: enqueued.append(options))
    request: dict[str, Any] = {"delivery_info": {"routing_key": "reminders-eu"}, "is_eager": False}
    dispatch_task.push_request(**request)  # as a worker does when the message arrives
    try:
        with time_machine.travel(DUE, tick=False):
            result = dispatch_task.run()
    finally:
        dispatch_task.pop_request()
    assert result["sent"] == 5
    assert enqueued == [{"queue": "reminders-eu"}]
