"""The weekly joint-pain check-in reminder and the no-check-in nudge (apps/joint_pain/reminders.py, DOMAIN J3), end to
end through materialise and dispatch with the tm travelled: at her local day and time across a DST change, never
for a week she answered (even when the answer arrives after the slot was planned), only while she is on an aromatase
inhibitor, named only with her opt-in; the nudge once, 21 days after her last answer, at her check-in time."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.joint_pain.models import JointPainCheckIn
from apps.joint_pain.reminders import CHECK_IN_KIND, CHECK_IN_TEXT, NUDGE_AFTER_DAYS, NUDGE_KIND, NUDGE_TEXT
from apps.profiles.models import PatientProfile
from apps.reminders.dispatch import dispatch
from apps.reminders.materialise import materialise
from apps.reminders.models import ReminderOccurrence
from backend.events import CheckInRecorded, publish
from tests.conftest import World

LONDON = ZoneInfo("Europe/London")  # GMT until Sunday 29 March 2026 01:00 UTC, BST after
NEW_YORK = ZoneInfo("America/New_York")  # EST until Sunday 8 March 2026, EDT after
FRIDAY = datetime(2026, 3, 20, 12, tzinfo=UTC)
MONDAY_GMT = datetime(2026, 3, 23, 18, tzinfo=UTC)  # 18:00 in London (GMT)
MONDAY_BST = datetime(2026, 3, 30, 17, tzinfo=UTC)  # 18:00 in London (BST): the same wall-tm time


@pytest.fixture
def tm() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(FRIDAY, tick=False) as traveller:
        yield traveller


def at(traveller: time_machine.Traveller, when: datetime) -> None:
    traveller.move_to(when)


def occurrences(patient: Patient, kind: str) -> list[ReminderOccurrence]:
    return list(ReminderOccurrence.objects.filter(patient=patient, source_kind=kind).order_by("due_at"))


def check_in(patient: Patient, answered_at: datetime, *, worst_pain: int = 2) -> JointPainCheckIn:
    """A check-in as the service stores it: week_of is the Monday of her local ISO week."""
    local = answered_at.astimezone(ZoneInfo(PatientProfile.objects.get(pk=patient.pk).timezone)).date()
    return JointPainCheckIn.objects.create(
        id=uuid.uuid4(),
        patient=patient,
        answered_at=answered_at,
        week_of=local - timedelta(days=local.weekday()),
        worst_pain=worst_pain,
        stiffness=2,
        interfered=False,
    )


def profile(patient: Patient, **fields: object) -> None:
    PatientProfile.objects.filter(pk=patient.pk).update(**fields)


# --- the weekly check-in -----------------------------------------------------------------------------------------
def test_weekly_at_her_local_time_across_the_dst_change_and_pushed_exactly_once(
    world: World, make_device, fake_fcm, tm: time_machine.Traveller
) -> None:
    make_device(world.ann.user, "fcm", token="ann-phone")
    materialise(patient_ids=[world.ann.id])
    reminders = occurrences(world.ann, CHECK_IN_KIND)
    assert [(r.due_at, r.local_date, r.local_time) for r in reminders] == [
        (MONDAY_GMT, date(2026, 3, 23), time(18)),
        (MONDAY_BST, date(2026, 3, 30), time(18)),
    ]
    assert {r.expires_at - r.due_at for r in reminders} == {timedelta(hours=12)}
    at(tm, MONDAY_GMT - timedelta(minutes=1))
    assert dispatch().sent == 0  # not before its time
    at(tm, MONDAY_GMT)
    assert dispatch().sent == 1
    assert [(m.token, m.body) for m in fake_fcm.delivered] == [("ann-phone", CHECK_IN_TEXT)]
    at(tm, MONDAY_GMT + timedelta(hours=3))
    assert dispatch().sent == 0  # no same-evening nudge: she can answer any day of the week
    at(tm, MONDAY_BST)
    materialise(patient_ids=[world.ann.id])  # the 10-minute job, after the clocks went forward
    assert dispatch().sent == 1
    assert len(fake_fcm.delivered) == 2
    assert dispatch().claimed == 0
    assert [r.state for r in occurrences(world.ann, CHECK_IN_KIND)][:2] == ["sent", "sent"]


def test_her_chosen_day_and_time_in_her_zone(world: World, tm: time_machine.Traveller) -> None:
    profile(world.bea, timezone="America/New_York", check_in_weekday=6, check_in_time=time(9, 30))
    at(tm, datetime(2026, 3, 1, 12, tzinfo=UTC))  # a Sunday in winter time
    materialise(patient_ids=[world.bea.id])
    due = [r.due_at for r in occurrences(world.bea, CHECK_IN_KIND)]
    # 09:30 that Sunday is 14:30 UTC (EST); on Sunday 8 March it is already summer time (the clocks went forward
    # at 02:00 that morning): 13:30 UTC. The horizon ends before the next one.
    assert due == [datetime(2026, 3, 1, 14, 30, tzinfo=UTC), datetime(2026, 3, 8, 13, 30, tzinfo=UTC)]
    assert all(r.local_time == time(9, 30) for r in occurrences(world.bea, CHECK_IN_KIND))


def test_a_week_she_answered_has_no_reminder(world: World, tm: time_machine.Traveller) -> None:
    check_in(world.ann, datetime(2026, 3, 23, 9, tzinfo=UTC))  # Monday morning of the first week
    materialise(patient_ids=[world.ann.id])
    assert [r.due_at for r in occurrences(world.ann, CHECK_IN_KIND)] == [MONDAY_BST]


def test_an_answer_that_arrives_after_the_slot_was_planned_silences_it(
    world: World, make_device, fake_fcm, tm: time_machine.Traveller
) -> None:
    make_device(world.ann.user, "fcm")
    materialise(patient_ids=[world.ann.id])
    # She answered offline on Sunday 22 March? That is the week before: it does not count for the week of the 23rd.
    check_in(world.ann, datetime(2026, 3, 22, 20, tzinfo=UTC))
    # ...and on Monday afternoon, synced before 18:00, with no materialise run in between.
    check_in(world.ann, datetime(2026, 3, 23, 15, tzinfo=UTC))
    at(tm, MONDAY_GMT)
    report = dispatch()
    assert (report.sent, report.skipped) == (0, 1)
    (first, second) = occurrences(world.ann, CHECK_IN_KIND)
    assert (first.state, first.reason) == ("skipped", "dose already recorded")
    assert second.state == "pending"  # next week is a new week
    assert fake_fcm.messages == []


def test_an_answer_in_the_previous_week_does_not_silence_this_weeks(
    world: World, make_device, fake_fcm, tm: time_machine.Traveller
) -> None:
    make_device(world.ann.user, "fcm")
    materialise(patient_ids=[world.ann.id])
    check_in(world.ann, datetime(2026, 3, 22, 23, 59, tzinfo=UTC))  # Sunday 23:59 in London: the week before
    at(tm, MONDAY_GMT)
    assert dispatch().sent == 1


def test_the_week_is_hers_local_not_utc(world: World, make_device, fake_fcm, tm: time_machine.Traveller) -> None:
    """In Auckland (UTC+13 in March), Monday 23 March 08:00 is Sunday 22 March 19:00 UTC: that answer counts for
    her week of the 23rd, and silences its reminder."""
    profile(world.ann, timezone="Pacific/Auckland")
    make_device(world.ann.user, "fcm")
    materialise(patient_ids=[world.ann.id])
    check_in(world.ann, datetime(2026, 3, 22, 19, tzinfo=UTC))
    first = occurrences(world.ann, CHECK_IN_KIND)[0]
    assert first.local_date == date(2026, 3, 23)
    at(tm, first.due_at)
    assert (dispatch().sent, fake_fcm.messages) == (0, [])


def test_only_while_she_is_on_an_aromatase_inhibitor(world: World, make_device, fake_fcm, tm) -> None:
    profile(world.bea, aromatase_inhibitor="")
    make_device(world.ann.user, "fcm")
    materialise(patient_ids=[world.ann.id, world.bea.id])
    assert occurrences(world.bea, CHECK_IN_KIND) == []
    assert len(occurrences(world.ann, CHECK_IN_KIND)) == 2
    profile(world.ann, ai_stopped_on=date(2026, 3, 21))  # she stopped it after the slots were planned
    at(tm, MONDAY_GMT)
    assert (dispatch().sent, fake_fcm.messages) == (0, [])
    assert occurrences(world.ann, CHECK_IN_KIND)[0].reason == "its schedule or plan was stopped or removed"
    materialise(patient_ids=[world.ann.id])
    assert [r.state for r in occurrences(world.ann, CHECK_IN_KIND)] == ["skipped", "cancelled"]


def test_not_before_she_starts_the_aromatase_inhibitor(world: World, tm: time_machine.Traveller) -> None:
    profile(world.ann, ai_started_on=date(2026, 3, 24))
    materialise(patient_ids=[world.ann.id])
    assert [r.due_at for r in occurrences(world.ann, CHECK_IN_KIND)] == [MONDAY_BST]


@pytest.mark.parametrize(
    ("planned_end_on", "expected"),
    [(date(2026, 3, 30), [MONDAY_GMT]), (date(2026, 3, 31), [MONDAY_GMT, MONDAY_BST])],
    ids=["course-ends-that-monday", "course-ends-the-day-after"],
)
def test_not_after_her_planned_course_ends(
    world: World, tm: time_machine.Traveller, planned_end_on: date, expected: list[datetime]
) -> None:
    """Review: once her planned AI course is over (T1) she is no longer asked about AI joint pain."""
    profile(world.ann, ai_planned_end_on=planned_end_on, ai_planned_years=None)
    materialise(patient_ids=[world.ann.id])
    assert [r.due_at for r in occurrences(world.ann, CHECK_IN_KIND)] == expected


@pytest.mark.parametrize(
    ("opt_in", "body"),
    [
        (False, CHECK_IN_TEXT),
        (True, "How have your joints been this week on letrozole? Your weekly joint-pain check-in is ready."),
    ],
)
def test_the_drug_is_named_only_with_her_opt_in(
    world: World, make_device, fake_fcm, tm: time_machine.Traveller, opt_in: bool, body: str
) -> None:
    profile(world.ann, push_detail_opt_in=opt_in)
    make_device(world.ann.user, "fcm")
    materialise(patient_ids=[world.ann.id])
    at(tm, MONDAY_GMT)
    dispatch()
    assert [m.body for m in fake_fcm.delivered] == [body]
    assert "letrozole" not in CHECK_IN_TEXT.lower() and "pain" not in CHECK_IN_TEXT.lower()


def test_a_new_day_and_time_move_her_planned_reminders_at_once(
    world: World, client_for, django_capture_on_commit_callbacks, tm: time_machine.Traveller
) -> None:
    materialise(patient_ids=[world.ann.id])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.ann.user).patch(
            f"/api/v1/patients/{world.ann.id}/",
            {"check_in_weekday": 2, "check_in_time": "08:00"},
            format="json",
        )
    assert response.status_code == 200, response.content
    pending = [r.due_at for r in occurrences(world.ann, CHECK_IN_KIND) if r.state == "pending"]
    assert pending == [datetime(2026, 3, 25, 8, tzinfo=UTC), datetime(2026, 4, 1, 7, tzinfo=UTC)]


def test_a_recorded_check_in_withdraws_its_weeks_reminder_at_once(
    world: World, django_capture_on_commit_callbacks, tm: time_machine.Traveller
) -> None:
    materialise(patient_ids=[world.ann.id])
    with django_capture_on_commit_callbacks(execute=True):
        row = check_in(world.ann, datetime(2026, 3, 23, 10, tzinfo=UTC))
        publish(CheckInRecorded(patient_id=world.ann.id, check_in_id=row.pk, week_of=row.week_of))
    assert [r.state for r in occurrences(world.ann, CHECK_IN_KIND)] == ["cancelled", "pending"]


# --- the nudge after three silent weeks ---------------------------------------------------------------------------
def test_the_nudge_comes_once_21_days_after_her_last_answer_at_her_check_in_time(
    world: World, make_device, fake_fcm, tm: time_machine.Traveller
) -> None:
    make_device(world.ann.user, "fcm", token="ann-phone")
    check_in(world.ann, datetime(2026, 3, 2, 19, tzinfo=UTC))  # Monday 2 March, 19:00 GMT
    at(tm, datetime(2026, 3, 9, 12, tzinfo=UTC))
    day = datetime(2026, 3, 9, 12, tzinfo=UTC)
    sent: list[tuple[datetime, str]] = []
    while day < datetime(2026, 5, 11, tzinfo=UTC):  # nine silent weeks, the jobs running every six hours
        at(tm, day)
        materialise(patient_ids=[world.ann.id])
        fake_fcm.reset()
        dispatch()
        sent += [(day, m.body) for m in fake_fcm.delivered]
        day += timedelta(hours=6)
    nudges = occurrences(world.ann, NUDGE_KIND)
    assert [(n.due_at, n.local_date, n.local_time, n.state) for n in nudges] == [
        (MONDAY_GMT, date(2026, 3, 2) + timedelta(days=NUDGE_AFTER_DAYS), time(18), "sent")
    ]
    assert [body for _, body in sent].count(NUDGE_TEXT) == 1
    # That Monday the nudge asks instead of the weekly reminder: one push, not two; the other Mondays remind.
    weekly = {r.local_date for r in occurrences(world.ann, CHECK_IN_KIND)}
    assert date(2026, 3, 23) not in weekly
    assert {date(2026, 3, 16), date(2026, 3, 30), date(2026, 5, 4)} <= weekly
    assert [when for when, body in sent if body == NUDGE_TEXT] == [datetime(2026, 3, 23, 18, tzinfo=UTC)]


def test_no_nudge_on_day_20_and_none_once_she_answered_again(
    world: World, make_device, fake_fcm, tm: time_machine.Traveller
) -> None:
    """Boundaries: her last answer on 2 March, the nudge is for the 23rd (21 days), not the 22nd; an answer on
    the 22nd (20 silent days) ends the stretch: the planned nudge is not sent, even with no planning run between
    (the week of the 23rd then gets its weekly reminder from that run: the next test)."""
    make_device(world.ann.user, "fcm")
    check_in(world.ann, datetime(2026, 3, 2, 19, tzinfo=UTC))
    materialise(patient_ids=[world.ann.id])
    (nudge,) = occurrences(world.ann, NUDGE_KIND)
    assert nudge.local_date == date(2026, 3, 23)
    check_in(world.ann, datetime(2026, 3, 22, 12, tzinfo=UTC))
    at(tm, MONDAY_GMT)
    report = dispatch()
    nudge.refresh_from_db()
    assert (nudge.state, nudge.reason) == ("skipped", "dose already recorded")
    assert (report.sent, fake_fcm.messages) == (0, [])


def test_an_answer_before_the_next_planning_run_moves_the_nudge(world: World, tm: time_machine.Traveller) -> None:
    check_in(world.ann, datetime(2026, 3, 2, 19, tzinfo=UTC))
    materialise(patient_ids=[world.ann.id])
    check_in(world.ann, datetime(2026, 3, 10, 19, tzinfo=UTC))  # Tuesday: the week of the 9th
    at(tm, datetime(2026, 3, 21, 12, tzinfo=UTC))
    materialise(patient_ids=[world.ann.id])
    states = [(n.local_date, n.state) for n in occurrences(world.ann, NUDGE_KIND)]
    assert states == [(date(2026, 3, 23), "cancelled"), (date(2026, 3, 31), "pending")]
    # The Monday the cancelled nudge would have taken is a weekly reminder again.
    assert date(2026, 3, 23) in {r.local_date for r in occurrences(world.ann, CHECK_IN_KIND) if r.state == "pending"}


def test_the_nudge_keeps_her_wall_clock_time_across_the_dst_change(world: World, tm) -> None:
    check_in(world.ann, datetime(2026, 3, 9, 20, tzinfo=UTC))  # Monday 9 March, GMT
    materialise(patient_ids=[world.ann.id])
    (nudge,) = occurrences(world.ann, NUDGE_KIND)
    assert (nudge.local_date, nudge.local_time, nudge.due_at) == (date(2026, 3, 30), time(18), MONDAY_BST)


def test_no_nudge_for_a_patient_who_never_answered_or_stopped_the_ai(world: World, tm) -> None:
    check_in(world.bea, datetime(2026, 3, 2, 19, tzinfo=UTC))
    profile(world.bea, ai_stopped_on=date(2026, 3, 10))
    materialise(patient_ids=[world.ann.id, world.bea.id])
    assert occurrences(world.ann, NUDGE_KIND) == []
    assert occurrences(world.bea, NUDGE_KIND) == []
    assert len(occurrences(world.ann, CHECK_IN_KIND)) == 2  # Ann (never answered) keeps her weekly reminder


def test_the_nudge_names_the_drug_only_with_her_opt_in(world: World, make_device, fake_fcm, tm) -> None:
    profile(world.ann, push_detail_opt_in=True)
    make_device(world.ann.user, "fcm")
    check_in(world.ann, datetime(2026, 3, 2, 19, tzinfo=UTC))
    materialise(patient_ids=[world.ann.id])
    at(tm, MONDAY_GMT)
    dispatch()
    assert [m.body for m in fake_fcm.delivered] == [
        "It has been a few weeks since your last joint-pain check-in on letrozole. How are your joints? "
        "It only takes a minute."
    ]
    assert "letrozole" not in NUDGE_TEXT and "pain" not in NUDGE_TEXT


def test_stopping_the_ai_withdraws_her_check_in_reminders_at_once_and_resuming_brings_them_back(
    world: World, client_for, django_capture_on_commit_callbacks, tm: time_machine.Traveller
) -> None:
    materialise(patient_ids=[world.ann.id])
    assert [r.state for r in occurrences(world.ann, CHECK_IN_KIND)] == ["pending", "pending"]
    client = client_for(world.ann.user)
    with django_capture_on_commit_callbacks(execute=True):
        stop = client.post(
            f"/api/v1/patients/{world.ann.id}/ai-course/stop/",
            {"stopped_on": "2026-03-20", "reason": "doctor_decision"},
            format="json",
        )
    assert stop.status_code == 200, stop.content
    assert [r.state for r in occurrences(world.ann, CHECK_IN_KIND)] == ["cancelled", "cancelled"]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/patients/{world.ann.id}/ai-course/resume/").status_code == 200
    assert [r.state for r in occurrences(world.ann, CHECK_IN_KIND) if r.state == "pending"] == ["pending", "pending"]
