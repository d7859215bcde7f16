"""backend.events, the one way to announce that something happened: a receiver after commit that fails is logged
with the event and leaves the write standing; one in the transaction that fails is logged and takes the write back
with it; an event published in a transaction that rolls back reaches no receiver after commit."""

import logging
from datetime import time
from uuid import uuid4

import pytest
from django.db import transaction

from apps.exercise.models import ExercisePlan
from apps.exercise.services import exercise_plan_create
from apps.reminders.models import ReminderOccurrence
from backend import events
from backend.events import AlertRaised, Event, PlanChanged, SignedOut, publish, subscribe
from tests.conftest import World


@pytest.fixture(autouse=True)
def _receivers_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a test subscribes is gone after it; the apps' own receivers stay subscribed meanwhile."""
    monkeypatch.setattr(events, "_receivers", {kind: list(entries) for kind, entries in events._receivers.items()})


def broken(event: Event) -> None:
    raise RuntimeError("the receiver broke")


def failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "backend.events"]


def new_plan(world: World) -> ExercisePlan:
    return exercise_plan_create(actor=world.cora, patient=world.ann, reminder_days=[0, 2, 4], local_time=time(18))


@pytest.mark.django_db(transaction=True)
def test_a_receiver_after_commit_that_fails_is_logged_with_the_event_and_the_write_stands(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    subscribe(PlanChanged, broken)
    plan = new_plan(world)  # committed: no test transaction around it

    assert ExercisePlan.objects.filter(pk=plan.pk).exists()
    assert ReminderOccurrence.objects.filter(source_id=plan.pk).exists()  # the reminders' receiver still ran
    [record] = failures(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.__dict__["event_type"] == "PlanChanged"
    assert record.__dict__["event"] == {
        "patient_id": str(world.ann.pk),
        "plan_id": str(plan.pk),
        "plan_kind": "exercise",
    }
    assert record.__dict__["receiver"] == f"{__name__}.broken"
    assert str(plan.pk) in record.getMessage()
    assert "the write stands" in record.getMessage()


def test_a_receiver_in_the_transaction_that_fails_is_logged_and_the_write_rolls_back(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    subscribe(PlanChanged, broken, in_transaction=True)
    with pytest.raises(RuntimeError, match="the receiver broke"):
        new_plan(world)

    assert not ExercisePlan.objects.filter(patient=world.ann).exists()
    [record] = failures(caplog)
    assert record.__dict__["event_type"] == "PlanChanged"
    assert record.__dict__["event"]["patient_id"] == str(world.ann.pk)
    assert "the write is rolled back" in record.getMessage()


@pytest.mark.django_db(transaction=True)
def test_an_event_published_in_a_transaction_that_rolls_back_reaches_no_receiver_after_commit(world: World) -> None:
    heard: list[Event] = []
    subscribe(PlanChanged, heard.append)

    with pytest.raises(RuntimeError), transaction.atomic():
        new_plan(world)
        raise RuntimeError("the request failed after the write")
    # A savepoint that rolls back inside a transaction that commits (pytest.raises stops the error between them).
    with transaction.atomic(), pytest.raises(RuntimeError), transaction.atomic():
        new_plan(world)
        raise RuntimeError("this part failed")
    assert heard == []
    assert not ExercisePlan.objects.exists()
    assert not ReminderOccurrence.objects.exists()

    plan = new_plan(world)
    assert heard == [PlanChanged(patient_id=world.ann.pk, plan_id=plan.pk, plan_kind="exercise")]


def test_the_log_shows_ids_not_the_installation_id(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(events, "_receivers", {})
    subscribe(SignedOut, broken, in_transaction=True)
    user_id = uuid4()
    with pytest.raises(RuntimeError):
        publish(SignedOut(user_id=user_id, device_id="installation-7f3a"))

    [record] = failures(caplog)
    assert record.__dict__["event"] == {"user_id": str(user_id)}
    assert str(user_id) in record.getMessage()
    assert "installation-7f3a" not in record.getMessage()


def test_an_event_takes_receivers_in_the_transaction_only_when_it_says_so() -> None:
    with pytest.raises(TypeError, match="AlertRaised takes receivers after commit only"):
        subscribe(AlertRaised, broken, in_transaction=True)
