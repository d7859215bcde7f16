"""A new reminder kind is one `ReminderSource` subclass and its registration: this test registers a throwaway kind
(a weekly check-in, here only) and it is materialised, claimed, pushed through the fake FCM at the library boundary,
skipped when done, nudged when not, and followed up when missed, without the dispatcher knowing it. And the
reminders app names no kind of its own."""

import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from apps.reminders.dispatch import dispatch
from apps.reminders.materialise import materialise
from apps.reminders.models import Delivery, ReminderOccurrence
from backend.reminder_sources import (
    NEXT_MORNING,
    NUDGE,
    DueReminder,
    ReminderSlot,
    ReminderSource,
    register_reminder_source,
    reminder_sources,
    unregister_reminder_source,
)
from tests.conftest import World

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DUE = datetime(2026, 3, 21, 9, tzinfo=UTC)  # 09:00 London (GMT)


@dataclass(frozen=True)
class CheckIn:
    patient_id: UUID
    due_at: datetime


class CheckInSource(ReminderSource):
    """Reminds a patient to answer her check-in; done once she answered; nudged; missed: asked again tomorrow."""

    kind = "test_check_in"
    stale_after_minutes = 5 * 60
    nudges = True

    def __init__(self) -> None:
        self.plans: dict[UUID, CheckIn] = {}
        self.answered: set[UUID] = set()

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        wanted = set(patient_ids) if patient_ids is not None else None
        for source_id, plan in self.plans.items():
            if window_start <= plan.due_at < window_end and (wanted is None or plan.patient_id in wanted):
                local = plan.due_at.astimezone(LONDON)
                yield ReminderSlot(
                    source_kind=self.kind,
                    source_id=source_id,
                    patient_id=plan.patient_id,
                    local_date=local.date(),
                    local_time=local.time(),
                    due_at=plan.due_at,
                    text_generic="Time for your check-in",
                    text_detailed="Time for your weekly check-in",
                )

    def live(self, source_ids: Collection[UUID]) -> set[UUID]:
        return {source_id for source_id in source_ids if source_id in self.plans}

    def done(self, reminders: Sequence[DueReminder]) -> set[Any]:
        return {r.pk for r in reminders if r.source_id in self.answered}

    def follow_ups_when_missed(self, missed: Sequence[DueReminder]) -> list[ReminderSlot]:
        return [
            ReminderSlot(
                source_kind=self.kind,
                source_id=r.source_id,
                patient_id=r.patient_id,
                kind=NEXT_MORNING,
                local_date=r.local_date + timedelta(days=1),
                local_time=r.local_time,
                due_at=self.plans[r.source_id].due_at + timedelta(days=1),
                dose_date=r.local_date,
                text_generic="Missed your check-in? It takes a minute",
                text_detailed="Missed your weekly check-in? It takes a minute",
            )
            for r in missed
            if r.kind == NUDGE
        ]


@pytest.fixture
def check_ins() -> Iterator[CheckInSource]:
    source = CheckInSource()
    register_reminder_source(source)
    try:
        yield source
    finally:
        unregister_reminder_source(source.kind)
    assert source.kind not in {s.kind for s in reminder_sources()}


def test_a_kind_registered_by_one_source_class_is_dispatched_end_to_end(
    world: World, make_device, fake_fcm, check_ins: CheckInSource
) -> None:
    ann_plan, bea_plan = uuid.uuid4(), uuid.uuid4()
    check_ins.plans = {ann_plan: CheckIn(world.ann.id, DUE), bea_plan: CheckIn(world.bea.id, DUE)}
    make_device(world.ann.user, "fcm", token="ann-phone")
    make_device(world.bea.user, "fcm", token="bea-phone")

    materialise(now=NOW, patient_ids=[world.ann.id, world.bea.id])
    reminders = ReminderOccurrence.objects.filter(source_kind="test_check_in", kind="reminder")
    assert reminders.count() == 2
    assert {r.expires_at for r in reminders} == {DUE + timedelta(hours=5)}  # the kind's own staleness

    report = dispatch(now=DUE)
    assert (report.claimed, report.sent) == (2, 2)
    assert sorted((m.token, m.body) for m in fake_fcm.delivered) == [
        ("ann-phone", "Time for your check-in"),
        ("bea-phone", "Time for your check-in"),
    ]
    assert set(reminders.values_list("state", flat=True)) == {"sent"}
    assert Delivery.objects.filter(outcome="sent").count() == 2

    # Ann answers; after the nudge delay only Bea, still not done, is nudged.
    check_ins.answered.add(ann_plan)
    fake_fcm.reset()
    report = dispatch(now=DUE + timedelta(minutes=120))
    assert (report.nudges, report.sent) == (1, 1)
    assert [(m.token, m.body) for m in fake_fcm.delivered] == [("bea-phone", "Still to do: time for your check-in")]

    # Bea's nudge went out with nothing done: the kind's follow-up is planned and sent the next day.
    (follow_up,) = ReminderOccurrence.objects.filter(source_kind="test_check_in", kind="next_morning")
    assert (follow_up.patient_id, follow_up.due_at, follow_up.state) == (
        world.bea.id,
        DUE + timedelta(days=1),
        "pending",
    )
    fake_fcm.reset()
    assert dispatch(now=DUE + timedelta(days=1)).sent == 1
    assert [(m.token, m.body) for m in fake_fcm.delivered] == [("bea-phone", "Missed your check-in? It takes a minute")]
    assert dispatch(now=DUE + timedelta(days=1, minutes=1)).claimed == 0  # each pushed exactly once


def test_a_kind_done_before_its_time_is_skipped_and_a_stopped_one_not_sent(
    world: World, make_device, fake_fcm, check_ins: CheckInSource
) -> None:
    ann_plan, bea_plan = uuid.uuid4(), uuid.uuid4()
    check_ins.plans = {ann_plan: CheckIn(world.ann.id, DUE), bea_plan: CheckIn(world.bea.id, DUE)}
    make_device(world.ann.user, "fcm")
    make_device(world.bea.user, "fcm")
    materialise(now=NOW, patient_ids=[world.ann.id, world.bea.id])
    check_ins.answered.add(ann_plan)
    del check_ins.plans[bea_plan]  # Bea's check-ins stopped after the horizon was materialised
    report = dispatch(now=DUE)
    assert (report.sent, report.skipped) == (0, 2)
    reasons = dict(ReminderOccurrence.objects.filter(source_kind="test_check_in").values_list("patient_id", "reason"))
    assert reasons == {
        world.ann.id: "dose already recorded",
        world.bea.id: "its schedule or plan was stopped or removed",
    }
    assert fake_fcm.messages == []


def test_the_reminders_app_names_no_reminder_kind() -> None:
    """What is specific to a kind lives with its source: no module of the reminders app tests for one."""
    app = Path(__file__).resolve().parents[2] / "apps" / "reminders"
    kinds = ("medication", "injection_booking", "supplement", "exercise")
    named = [
        (path.name, kind)
        for path in app.glob("*.py")
        for kind in kinds
        if f'"{kind}"' in path.read_text() or f"'{kind}'" in path.read_text()
    ]
    assert named == []
