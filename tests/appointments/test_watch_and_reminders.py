"""Time-dependent parts of appointments, with time travel across the spring DST change in London (29 March 2026):
reminders 3 days and 1 day before at 09:00 her time, withdrawn or moved with the appointment; the D9 missed
check at the end of her local day, raised once, resolved when the dose is recorded."""

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine

from apps.alerts.models import Alert, AlertState
from apps.appointments.jobs import appointment_watch
from apps.appointments.models import Appointment
from apps.appointments.services import appointment_cancel, appointment_update
from apps.medications.services import dose_record
from apps.reminders.dispatch import dispatch
from apps.reminders.models import ReminderOccurrence
from tests.appointments.factories import make_appointment
from tests.conftest import World

LONDON = ZoneInfo("Europe/London")
BOOKED_AT = datetime(2026, 3, 20, 12, tzinfo=UTC)
# Monday 30 March 2026, 10:00 in London: British Summer Time since Sunday 29 March (UTC+1).
STARTS = datetime(2026, 3, 30, 10, 0, tzinfo=LONDON)


def pending_reminders() -> list[tuple[datetime, time]]:
    rows = ReminderOccurrence.objects.filter(source_kind="appointment", state="pending").order_by("due_at")
    return [(row.due_at, row.local_time) for row in rows]


def give(world: World, appointment: Appointment, *, at: datetime, taken_at: datetime) -> None:
    """The nurse records the appointment's dose as given, at `at` (time travel)."""
    assert appointment.schedule is not None  # an injection appointment names its schedule
    with time_machine.travel(at, tick=False):
        dose_record(
            actor=world.cora,
            patient=world.ann,
            schedule=appointment.schedule,
            id=uuid.uuid4(),
            taken_at=taken_at,
            source="clinic",
        )


def book(world: World, capture, starts_at: datetime = STARTS):
    with time_machine.travel(BOOKED_AT, tick=False), capture(execute=True):
        return make_appointment(world.ann, starts_at=starts_at)


def test_reminders_fall_at_nine_her_time_on_both_sides_of_the_clock_change(
    world: World, django_capture_on_commit_callbacks, make_device, fake_fcm
) -> None:
    book(world, django_capture_on_commit_callbacks)
    # Friday 27 March 09:00 GMT (= 09:00 UTC) and Sunday 29 March 09:00 BST (= 08:00 UTC).
    assert pending_reminders() == [
        (datetime(2026, 3, 27, 9, tzinfo=UTC), time(9, 0)),
        (datetime(2026, 3, 29, 8, tzinfo=UTC), time(9, 0)),
    ]
    make_device(world.ann.user, "fcm", token="ann-phone")
    report = dispatch(now=datetime(2026, 3, 29, 8, tzinfo=UTC))
    assert report.sent >= 1
    assert ("ann-phone", "You have a clinic appointment tomorrow at 10:00") in [
        (m.token, m.body) for m in fake_fcm.delivered
    ]


def test_rescheduling_moves_unsent_reminders_and_cancelling_withdraws_them(
    world: World, django_capture_on_commit_callbacks
) -> None:
    appointment = book(world, django_capture_on_commit_callbacks)
    with time_machine.travel(BOOKED_AT + timedelta(hours=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            appointment_update(
                actor=world.cora, appointment=appointment, starts_at=datetime(2026, 4, 2, 14, 30, tzinfo=LONDON)
            )
        assert pending_reminders() == [
            (datetime(2026, 3, 30, 8, tzinfo=UTC), time(9, 0)),
            (datetime(2026, 4, 1, 8, tzinfo=UTC), time(9, 0)),
        ]
        with django_capture_on_commit_callbacks(execute=True):
            appointment_cancel(actor=world.cora, appointment=appointment, reason="Rebooking by phone")
        assert pending_reminders() == []
        assert ReminderOccurrence.objects.filter(source_kind="appointment", state="cancelled").count() == 4


def test_a_missed_injection_day_raises_one_alert_at_her_midnight_resolved_by_the_dose(
    world: World, django_capture_on_commit_callbacks
) -> None:
    appointment = book(world, django_capture_on_commit_callbacks)
    her_midnight = datetime(2026, 3, 30, 23, tzinfo=UTC)  # 31 March 00:00 BST
    assert appointment.missed_check_at == her_midnight
    assert appointment_watch(now=her_midnight - timedelta(minutes=1)).alerts_raised == 0
    assert appointment_watch(now=her_midnight).alerts_raised == 1
    assert appointment_watch(now=her_midnight + timedelta(hours=1)).alerts_raised == 0  # once
    alert = Alert.objects.get(kind="appointment_missed")
    assert (alert.patient_id, alert.schedule_id, alert.rule, alert.episode) == (
        world.ann.id,
        appointment.schedule_id,
        "D9",
        str(appointment.id),
    )
    assert "no dose recorded" in alert.message

    give(
        world, appointment, at=datetime(2026, 3, 31, 10, tzinfo=UTC), taken_at=datetime(2026, 3, 31, 9, 30, tzinfo=UTC)
    )
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert "recorded as given" in alert.resolution_note


def test_an_injection_given_on_its_day_raises_nothing_and_a_cancelled_one_is_not_checked(
    world: World, django_capture_on_commit_callbacks
) -> None:
    appointment = book(world, django_capture_on_commit_callbacks)
    give(world, appointment, at=datetime(2026, 3, 30, 10, tzinfo=UTC), taken_at=datetime(2026, 3, 30, 9, 5, tzinfo=UTC))
    other = book(world, django_capture_on_commit_callbacks, datetime(2026, 4, 6, 9, tzinfo=LONDON))
    with time_machine.travel(BOOKED_AT + timedelta(hours=2), tick=False):
        appointment_cancel(actor=world.cora, appointment=other, reason="Given early")
    report = appointment_watch(now=datetime(2026, 4, 10, tzinfo=UTC))
    # The dose closed its appointment as given at once, so the watch has nothing left to check.
    assert (report.checked, report.alerts_raised) == (0, 0)
    assert not Alert.objects.filter(kind="appointment_missed").exists()


def test_booking_reminders_stop_while_an_appointment_is_booked_and_return_when_cancelled(
    world: World, django_capture_on_commit_callbacks
) -> None:
    from tests.factories import make_schedule

    def asked_to_book() -> int:
        return ReminderOccurrence.objects.filter(source_kind="injection_booking", state="pending").count()

    with time_machine.travel(BOOKED_AT, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            schedule = make_schedule(world.ann, "denosumab", starts_on=datetime(2026, 3, 25).date())
        assert asked_to_book() > 0  # due on 25 March: "please call your clinic to book"
        with django_capture_on_commit_callbacks(execute=True):
            appointment = make_appointment(world.ann, schedule=schedule, starts_at=STARTS)
        assert asked_to_book() == 0
        with django_capture_on_commit_callbacks(execute=True):
            appointment_cancel(actor=world.cora, appointment=appointment, reason="She cannot come")
        assert asked_to_book() > 0


def test_the_dose_closes_its_appointment_as_given_and_it_cannot_change_after(
    world: World, django_capture_on_commit_callbacks, client_for
) -> None:
    appointment = book(world, django_capture_on_commit_callbacks)
    later = book(world, django_capture_on_commit_callbacks, datetime(2026, 9, 28, 10, tzinfo=LONDON))
    give(world, appointment, at=datetime(2026, 3, 30, 10, tzinfo=UTC), taken_at=datetime(2026, 3, 30, 9, 5, tzinfo=UTC))
    appointment.refresh_from_db()
    later.refresh_from_db()
    # Given for the booking it fulfils; the next cycle's booking, six months on, is still ahead.
    assert (appointment.status, appointment.missed_check_at) == ("given", None)
    assert later.status == "booked"
    client = client_for(world.cora)
    url = f"/api/v1/patients/{world.ann.id}/appointments/{appointment.id}/"
    with time_machine.travel(datetime(2026, 3, 30, 12, tzinfo=UTC), tick=False):
        moved = client.patch(url, {"location": "Elsewhere"}, format="json")
        cancelled = client.post(f"{url}cancel/", {"reason": "mistake"}, format="json")
    assert (moved.status_code, cancelled.status_code) == (400, 400)
    assert moved.json()["error"]["fields"]["status"]
    listed = client.get(f"/api/v1/patients/{world.ann.id}/appointments/?status=given").json()["results"]
    assert [row["id"] for row in listed] == [str(appointment.id)]
    # The next cycle's booking is not covered by March's dose: its day passing with none recorded is still missed.
    report = appointment_watch(now=datetime(2026, 9, 29, tzinfo=UTC))
    assert (report.checked, report.alerts_raised) == (1, 1)
    assert Alert.objects.get(kind="appointment_missed").episode == str(later.id)
