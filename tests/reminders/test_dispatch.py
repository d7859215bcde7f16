"""The dispatcher end to end on the database, with the push providers faked at the library boundary."""

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from push_notifications.models import GCMDevice

from apps.medications.services import dose_record
from apps.profiles.models import PatientProfile
from apps.reminders.claims import CLAIM_SECONDS, claim
from apps.reminders.dispatch import dispatch
from apps.reminders.materialise import materialise
from apps.reminders.models import Delivery, ReminderOccurrence, ReminderPreference
from tests.conftest import World
from tests.factories import make_schedule

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DUE = datetime(2026, 3, 21, 8, tzinfo=UTC)  # 08:00 London (GMT)


def phone(user, token: str = "tok-ann") -> GCMDevice:
    return GCMDevice.objects.create(user=user, registration_id=token, cloud_message_type="FCM", active=True)


def setup_daily(world: World):
    schedule = make_schedule(world.ann, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8))
    materialise(now=NOW, patient_ids=[world.ann.id])
    return schedule


def first(state: str | None = None) -> ReminderOccurrence:
    rows = ReminderOccurrence.objects.filter(due_at=DUE)
    return rows.get(state=state) if state else rows.get()


def test_a_due_reminder_is_pushed_once_and_recorded(world: World, fake_fcm) -> None:
    setup_daily(world)
    phone(world.ann.user)
    report = dispatch(now=DUE)
    assert (report.sent, report.claimed) == (1, 1)
    assert [(m.token, m.body) for m in fake_fcm.delivered] == [("tok-ann", "Time for your daily medicine")]
    occurrence = first()
    assert occurrence.state == "sent"
    assert list(Delivery.objects.values_list("outcome", "platform")) == [("sent", "fcm")]
    assert dispatch(now=DUE + timedelta(minutes=1)).sent == 0  # not again
    assert len(fake_fcm.delivered) == 1


def test_text_names_the_drug_only_with_opt_in(world: World, fake_fcm) -> None:
    setup_daily(world)
    phone(world.ann.user)
    PatientProfile.objects.filter(pk=world.ann.pk).update(push_detail_opt_in=True)
    dispatch(now=DUE)
    assert fake_fcm.delivered[0].body == "Time for your letrozole 2.5 mg"


def test_no_reminder_for_a_dose_already_recorded(world: World, fake_fcm) -> None:
    schedule = setup_daily(world)
    phone(world.ann.user)
    with time_machine.travel(DUE - timedelta(minutes=30), tick=False):
        dose_record(
            actor=world.ann.user,
            patient=world.ann,
            schedule=schedule,
            id=uuid.uuid4(),
            taken_at=DUE - timedelta(minutes=40),
        )
    report = dispatch(now=DUE)
    assert (report.sent, report.skipped) == (0, 1)
    assert first().reason == "dose already recorded"
    assert fake_fcm.messages == []


def test_quiet_hours_defer_then_send(world: World, fake_fcm) -> None:
    setup_daily(world)
    phone(world.ann.user)
    PatientProfile.objects.filter(pk=world.ann.pk).update(quiet_hours_start=time(22), quiet_hours_end=time(8, 30))
    assert dispatch(now=DUE).deferred == 1
    assert first().next_attempt_at == datetime(2026, 3, 21, 8, 30, tzinfo=UTC)
    assert dispatch(now=DUE + timedelta(minutes=10)).sent == 0
    assert dispatch(now=datetime(2026, 3, 21, 8, 30, tzinfo=UTC)).sent == 1


def test_stale_reminders_expire(world: World, fake_fcm) -> None:
    setup_daily(world)
    phone(world.ann.user)
    report = dispatch(now=DUE + timedelta(hours=7))  # medication reminders help for 6 hours
    assert report.expired >= 1
    assert first().state == "expired"
    assert fake_fcm.messages == []


def test_a_fasting_bisphosphonate_dose_expires_after_three_hours(world: World, fake_fcm) -> None:
    make_schedule(world.ann, "alendronate", starts_on=date(2026, 3, 2), weekday=0, local_time=time(7))
    materialise(now=NOW, patient_ids=[world.ann.id])
    phone(world.ann.user)
    monday = datetime(2026, 3, 23, 7, tzinfo=UTC)
    dispatch(now=monday + timedelta(hours=3, minutes=1))
    assert ReminderOccurrence.objects.get(due_at=monday).state == "expired"


def test_transient_failure_retries_with_backoff_then_sends(world: World, fake_fcm) -> None:
    setup_daily(world)
    device = phone(world.ann.user)
    fake_fcm.fail(device.registration_id, transient=True)
    assert dispatch(now=DUE).retrying == 1
    occurrence = first()
    assert (occurrence.state, occurrence.attempts) == ("pending", 1)
    assert occurrence.next_attempt_at == DUE + timedelta(minutes=1)
    fake_fcm.reset()
    assert dispatch(now=DUE + timedelta(minutes=1)).sent == 1
    assert first().attempts == 2


def test_dead_token_is_deactivated_and_the_reminder_fails_with_a_reason(world: World, fake_fcm) -> None:
    setup_daily(world)
    device = phone(world.ann.user)
    fake_fcm.unregister(device.registration_id)
    assert dispatch(now=DUE).failed == 1
    device.refresh_from_db()
    assert device.active is False
    assert first().state == "failed"
    assert Delivery.objects.get().outcome == "dead"


def test_no_device_is_a_recorded_skip(world: World, fake_fcm) -> None:
    setup_daily(world)
    assert dispatch(now=DUE).skipped == 1
    assert first().reason == "no registered device"


def test_reminders_switched_off(world: World, fake_fcm) -> None:
    setup_daily(world)
    phone(world.ann.user)
    ReminderPreference.objects.create(patient=world.ann, reminders_enabled=False)
    assert dispatch(now=DUE).skipped == 1


def test_follow_up_nudge_when_the_dose_is_still_not_recorded(world: World, fake_fcm) -> None:
    schedule = setup_daily(world)
    phone(world.ann.user)
    dispatch(now=DUE)
    assert first().follow_up_at == DUE + timedelta(minutes=120)  # checked then; no nudge row before
    assert not ReminderOccurrence.objects.filter(kind="nudge").exists()
    assert dispatch(now=DUE + timedelta(minutes=119)).nudges == 0
    report = dispatch(now=DUE + timedelta(minutes=120))
    assert (report.nudges, report.sent) == (1, 1)
    nudge = ReminderOccurrence.objects.get(kind="nudge")
    assert (nudge.due_at, nudge.state) == (DUE + timedelta(minutes=120), "sent")
    assert fake_fcm.delivered[-1].body.startswith("Still to do")
    assert first().follow_up_at is None
    # Recorded before the grace period ends: no nudge at all.
    next_due = DUE + timedelta(days=1)
    dispatch(now=next_due)
    with time_machine.travel(next_due + timedelta(minutes=5), tick=False):
        dose_record(actor=world.ann.user, patient=world.ann, schedule=schedule, id=uuid.uuid4(), taken_at=next_due)
    report = dispatch(now=next_due + timedelta(minutes=120))
    assert (report.nudges, report.sent) == (0, 0)
    assert ReminderOccurrence.objects.filter(kind="nudge").count() == 1


def test_an_expired_claim_is_taken_again(world: World, fake_fcm) -> None:
    """A worker that died mid-batch: its claim lapses after CLAIM_SECONDS and the next run sends the reminder."""
    setup_daily(world)
    phone(world.ann.user)
    claimed, _until = claim(now=DUE)  # claimed, then the worker "dies"
    assert len(claimed) == 1
    assert dispatch(now=DUE + timedelta(seconds=CLAIM_SECONDS - 1)).claimed == 0
    assert dispatch(now=DUE + timedelta(seconds=CLAIM_SECONDS + 1)).sent == 1
    assert len(fake_fcm.delivered) == 1


MONDAY = datetime(2026, 3, 23, 7, tzinfo=UTC)  # 07:00 London (GMT)
TUESDAY = datetime(2026, 3, 24, 7, tzinfo=UTC)


def weekly_alendronate(world: World):
    schedule = make_schedule(world.ann, "alendronate", starts_on=date(2026, 3, 2), weekday=0, local_time=time(7))
    materialise(now=NOW, patient_ids=[world.ann.id])
    phone(world.ann.user)
    return schedule


def test_missed_weekly_dose_gets_a_next_morning_reminder(world: World, fake_fcm) -> None:
    """DOMAIN A3: the next morning, never two on the same day. Planned once the nudge finds the dose unrecorded."""
    weekly_alendronate(world)
    dispatch(now=MONDAY)
    assert not ReminderOccurrence.objects.filter(kind="next_morning").exists()  # not yet: the nudge comes first
    assert dispatch(now=MONDAY + timedelta(minutes=120)).sent == 1  # the nudge, still unrecorded
    catch_up = ReminderOccurrence.objects.get(kind="next_morning")
    assert (catch_up.local_date, catch_up.due_at, catch_up.dose_date) == (date(2026, 3, 24), TUESDAY, date(2026, 3, 23))
    assert dispatch(now=TUESDAY).sent == 1
    assert "never two on the same day" in fake_fcm.delivered[-1].body


@pytest.mark.parametrize(
    "taken_at",
    [MONDAY + timedelta(hours=2), TUESDAY - timedelta(minutes=30)],
    ids=["taken-monday-later", "taken-tuesday-early"],
)
def test_no_next_morning_reminder_once_the_dose_is_recorded(world: World, fake_fcm, taken_at) -> None:
    schedule = weekly_alendronate(world)
    dispatch(now=MONDAY)
    dispatch(now=MONDAY + timedelta(minutes=120))  # the nudge, still unrecorded: the catch-up is planned
    with time_machine.travel(taken_at + timedelta(minutes=1), tick=False):
        dose_record(actor=world.ann.user, patient=world.ann, schedule=schedule, id=uuid.uuid4(), taken_at=taken_at)
    report = dispatch(now=TUESDAY)
    assert report.sent == 0
    assert ReminderOccurrence.objects.get(kind="next_morning").reason == "dose already recorded"


def test_a_dose_recorded_before_the_nudge_needs_no_catch_up(world: World, fake_fcm) -> None:
    schedule = weekly_alendronate(world)
    dispatch(now=MONDAY)
    with time_machine.travel(MONDAY + timedelta(minutes=30), tick=False):
        dose_record(actor=world.ann.user, patient=world.ann, schedule=schedule, id=uuid.uuid4(), taken_at=MONDAY)
    assert dispatch(now=MONDAY + timedelta(minutes=120)).nudges == 0
    assert not ReminderOccurrence.objects.filter(kind__in=["nudge", "next_morning"]).exists()


def test_without_nudges_the_catch_up_is_planned_when_the_reminder_goes_out(world: World, fake_fcm) -> None:
    weekly_alendronate(world)
    ReminderPreference.objects.create(patient=world.ann, nudges_enabled=False)
    dispatch(now=MONDAY)
    assert not ReminderOccurrence.objects.filter(kind="nudge").exists()
    assert ReminderOccurrence.objects.get(kind="next_morning").due_at == TUESDAY
    assert dispatch(now=TUESDAY).sent == 1


def test_an_expired_nudge_still_plans_the_catch_up_with_the_doses_window(world: World, fake_fcm) -> None:
    weekly_alendronate(world)
    dispatch(now=MONDAY)
    dispatch(now=MONDAY + timedelta(hours=5))  # the dispatcher was down: the nudge is past its time
    nudge = ReminderOccurrence.objects.get(kind="nudge")
    assert nudge.state == "expired"
    catch_up = ReminderOccurrence.objects.get(kind="next_morning")
    reminder = ReminderOccurrence.objects.get(kind="reminder", due_at=MONDAY)
    assert catch_up.expires_at - catch_up.due_at == reminder.expires_at - reminder.due_at  # DOMAIN A1: 3 hours


def test_daily_medicines_get_no_next_morning_reminder(world: World, fake_fcm) -> None:
    setup_daily(world)
    phone(world.ann.user)
    dispatch(now=DUE)
    assert not ReminderOccurrence.objects.filter(kind="next_morning").exists()
