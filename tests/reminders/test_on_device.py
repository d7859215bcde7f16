"""Issue 6 item 6: reminders without double-firing. An occurrence a device of the patient already holds in its current
version (it pulled it, and confirmed the pull by sending its timestamp back) is fired by the app itself: the
dispatcher records it as skipped "on device" instead of pushing it. A follow-up nudge is always pushed; an occurrence
no device holds is pushed as before."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from rest_framework.test import APIClient

from apps.reminders.dispatch import dispatch
from apps.reminders.follow_ups import plan_nudges
from apps.reminders.materialise import materialise
from apps.reminders.models import ON_DEVICE_REASON, OccurrenceKind, ReminderOccurrence
from tests.conftest import World
from tests.factories import make_schedule
from tests.reminders.test_dispatch import phone

pytestmark = pytest.mark.django_db(transaction=True)  # versions are transaction ids: each write commits on its own

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DUE = datetime(2026, 3, 21, 8, tzinfo=UTC)  # 08:00 London (GMT)


def setup_daily(world: World) -> None:
    make_schedule(world.ann, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8))
    materialise(now=NOW, patient_ids=[world.ann.id])


def pull(world: World, since: int | None = None) -> dict:
    client = APIClient()
    client.force_authenticate(world.ann.user)
    response = client.get("/api/v1/sync/", {"last_pulled_at": since or "null"})
    assert response.status_code == 200, response.content
    body: dict = response.json()
    return body


def app_sync(world: World, *, confirm: bool = True) -> int:
    """The app pulls; with `confirm`, it syncs again, sending that pull's timestamp back (it applied it). Returns
    the newest timestamp."""
    timestamp: int = pull(world)["timestamp"]
    if confirm:
        timestamp = pull(world, timestamp)["timestamp"]
    return timestamp


def due_reminder() -> ReminderOccurrence:
    return ReminderOccurrence.objects.get(due_at=DUE, kind=OccurrenceKind.REMINDER)


def test_a_reminder_her_device_holds_is_left_to_the_device_and_its_nudge_is_pushed(world: World, fake_fcm) -> None:
    setup_daily(world)
    phone(world.ann.user)
    synced = app_sync(world)
    report = dispatch(now=DUE)
    assert (report.sent, report.skipped) == (0, 1)
    assert fake_fcm.messages == []
    occurrence = due_reminder()
    assert (occurrence.state, occurrence.reason) == ("skipped", ON_DEVICE_REASON)
    # For the app nothing changed (not resent), and a fresh install sees it as one to fire itself.
    assert str(occurrence.id) not in {r["id"] for r in pull(world, synced)["changes"]["reminders"]["updated"]}
    fresh = {r["id"]: r for r in pull(world)["changes"]["reminders"]["created"]}
    assert fresh[str(occurrence.id)]["state"] == "pending"
    # Its follow-up is planned as for a pushed reminder. The dose is still unrecorded at the check: the nudge is
    # pushed, though her device holds it too by then.
    check_at = occurrence.follow_up_at
    assert check_at is not None
    assert plan_nudges(now=check_at) == (1, 1)
    nudge = ReminderOccurrence.objects.get(kind=OccurrenceKind.NUDGE)
    app_sync(world)
    report = dispatch(now=check_at)
    assert report.sent == 1
    assert len(fake_fcm.delivered) == 1
    assert ReminderOccurrence.objects.get(pk=nudge.pk).state == "sent"


def test_a_reminder_no_device_has_is_pushed(world: World, fake_fcm) -> None:
    setup_daily(world)
    phone(world.ann.user)
    assert dispatch(now=DUE).sent == 1
    assert due_reminder().state == "sent"


def test_a_pull_the_app_never_confirmed_does_not_count(world: World, fake_fcm) -> None:
    setup_daily(world)
    phone(world.ann.user)
    app_sync(world, confirm=False)  # the answer may never have reached the phone
    assert dispatch(now=DUE).sent == 1


def test_a_reminder_changed_after_the_pull_is_pushed(world: World, fake_fcm) -> None:
    setup_daily(world)
    phone(world.ann.user)
    app_sync(world)
    ReminderOccurrence.objects.filter(pk=due_reminder().pk).update(text_generic="Time for your medicine now")
    assert dispatch(now=DUE).sent == 1


def test_a_next_morning_catch_up_her_device_holds_is_left_to_the_device(world: World, fake_fcm) -> None:
    setup_daily(world)
    phone(world.ann.user)
    template = due_reminder()
    at = DUE + timedelta(hours=1)
    ReminderOccurrence.objects.create(
        patient=world.ann,
        source_kind=template.source_kind,
        source_id=template.source_id,
        kind=OccurrenceKind.NEXT_MORNING,
        local_date=template.local_date,
        local_time=time(9),
        due_at=at,
        dose_date=template.local_date - timedelta(days=1),
        text_generic="Missed yesterday's medicine?",
        text_detailed="Missed yesterday's medicine?",
        expires_at=at + timedelta(hours=3),
        next_attempt_at=at,
    )
    ReminderOccurrence.objects.filter(pk=template.pk).delete()
    app_sync(world)
    report = dispatch(now=at)
    assert (report.sent, report.skipped) == (0, 1)
    assert ReminderOccurrence.objects.get(kind=OccurrenceKind.NEXT_MORNING).reason == ON_DEVICE_REASON
