"""Issue 11, class 6: adherence counts from when tracking began, through the API (and the app's sync push).

A schedule entered today with a start date two years back has no record of those years: its PDC counts from the day
it was entered (or its first dose record, if earlier), has none before 14 tracked days, and the patient list's
figure and ``?adherence_below=`` filter equal the API's at every moment: after a dose write (REST or sync) and right
after her midnight, before the job has run again."""

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine

from apps.accounts.models import Patient
from apps.alerts.jobs import low_adherence_watch
from apps.medications.models import Schedule
from tests.conftest import World
from tests.factories import make_dose, make_schedule
from tests.sync.conftest import App, table_changes

LONDON = ZoneInfo("Europe/London")  # the factories' patient zone
LA = ZoneInfo("America/Los_Angeles")
TODAY = date(2026, 6, 15)


def at(day: date, hour: int = 12, minute: int = 0, zone: ZoneInfo = LONDON) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def adherence_row(client, patient: Patient, schedule: Schedule, window: int = 90) -> dict:
    response = client.get(f"/api/v1/patients/{patient.id}/adherence/?window={window}")
    assert response.status_code == 200, response.content
    [row] = [r for r in response.json() if r["schedule"] == str(schedule.id)]
    return row


def listed_below(client, threshold: str) -> set[str]:
    response = client.get(f"/api/v1/patients/?adherence_below={threshold}")
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_a_schedule_entered_today_with_a_start_two_years_ago_counts_from_today(world: World, client_for) -> None:
    starts = TODAY - timedelta(days=730)
    with time_machine.travel(at(TODAY, 9), tick=False):
        schedule = make_schedule(world.ann, "letrozole", starts_on=starts)
    client = client_for(world.cora)
    # Every daily dose from the day it was entered: 13 tracked days -> no PDC yet, no figure on the list.
    for k in range(14):
        with time_machine.travel(at(TODAY + timedelta(days=k), 8), tick=False):
            make_dose(world.ann, schedule, taken_at=at(TODAY + timedelta(days=k), 7))
    with time_machine.travel(at(TODAY + timedelta(days=12), 20), tick=False):
        row = adherence_row(client, world.ann, schedule)
        assert (row["tracked_since"], row["tracked_days"], row["pdc"], row["adherent"]) == (
            str(TODAY),
            13,
            None,
            None,
        )
        assert (row["days_in_window"], row["days_covered"]) == (13, 13)
        assert listed_below(client, "1.0") == set()  # not measured: not below anything
        for window in (7, 365, 730):  # the 730-day window does not reach back to the start either
            assert adherence_row(client, world.ann, schedule, window)["pdc"] is None
    # The 14th tracked day: measured, over those 14 days only (not 14 of 90, nor of two years).
    with time_machine.travel(at(TODAY + timedelta(days=13), 20), tick=False):
        row = adherence_row(client, world.ann, schedule)
        assert (row["tracked_days"], row["days_in_window"], row["days_covered"]) == (14, 14, 14)
        assert (row["pdc"], row["adherent"]) == ("1.000", True)
        assert adherence_row(client, world.ann, schedule, 730)["pdc"] == "1.000"
        assert listed_below(client, "1.0") == set()


def test_a_dose_recorded_before_the_entry_moves_tracking_back_to_it(world: World, client_for) -> None:
    starts = TODAY - timedelta(days=400)
    with time_machine.travel(at(TODAY, 9), tick=False):
        schedule = make_schedule(world.ann, "alendronate", starts_on=starts)  # weekly, the start's weekday
        # One weekly dose back-filled 30 days ago: tracking began then, the 23 days after its week are uncovered
        # (today, still running and not covered, is not judged yet).
        make_dose(world.ann, schedule, taken_at=at(TODAY - timedelta(days=30), 7))
        row = adherence_row(client_for(world.cora), world.ann, schedule)
    assert (row["tracked_since"], row["tracked_days"]) == (str(TODAY - timedelta(days=30)), 30)
    assert (row["days_in_window"], row["days_covered"], row["pdc"]) == (30, 7, "0.233")  # 7 / 30 truncated
    # A record before the schedule's start does not move tracking before it.
    with time_machine.travel(at(TODAY, 9), tick=False):
        later = make_schedule(world.bea, "letrozole", starts_on=TODAY - timedelta(days=20))
        make_dose(world.bea, later, taken_at=at(TODAY - timedelta(days=25), 7))
        row = adherence_row(client_for(world.phil), world.bea, later)
    assert (row["tracked_since"], row["tracked_days"]) == (str(TODAY - timedelta(days=20)), 20)


def _boundary_patient(world: World) -> Schedule:
    """Daily letrozole entered 100 days before TODAY, every dose taken up to TODAY-19 and none since. On TODAY (not
    covered, so not judged yet) the 90-day window is TODAY-90..TODAY-1 with 72 covered days, PDC 0.800 exactly; at
    her next midnight TODAY-90 leaves the window and the uncovered TODAY comes in: 71 / 90 = 0.788."""
    entered = TODAY - timedelta(days=100)
    with time_machine.travel(at(entered, 9), tick=False):
        schedule = make_schedule(world.ann, "letrozole", starts_on=entered)
    with time_machine.travel(at(TODAY - timedelta(days=18), 9), tick=False):
        for k in range(100 - 18):
            make_dose(world.ann, schedule, taken_at=at(entered + timedelta(days=k), 7))
    # The job (every 5 minutes) last ran just after her midnight starting TODAY: it stored TODAY's figure and the
    # next day's. Nothing runs after this.
    with time_machine.travel(at(TODAY, 0, 2), tick=False):
        low_adherence_watch()
    return schedule


def test_list_filter_and_api_agree_across_her_midnight_and_a_dose_write(world: World, client_for) -> None:
    schedule = _boundary_patient(world)
    client = client_for(world.cora)
    with time_machine.travel(at(TODAY, 23, 59), tick=False):
        assert adherence_row(client, world.ann, schedule)["pdc"] == "0.800"
        assert listed_below(client, "0.8") == set()
        assert listed_below(client, "0.801") == {str(world.ann.id)}
    # Her midnight: no job has run, yet the list moves with the API.
    with time_machine.travel(at(TODAY + timedelta(days=1), 0, 0), tick=False):
        assert adherence_row(client, world.ann, schedule)["pdc"] == "0.788"
        assert listed_below(client, "0.8") == {str(world.ann.id)}
        assert listed_below(client, "0.788") == set()
        assert listed_below(client, "0.789") == {str(world.ann.id)}
        # Her evening dose of yesterday, recorded just after midnight: 72 / 90 again, and the list follows at once.
        make_dose(world.ann, schedule, taken_at=at(TODAY, 21))
        assert adherence_row(client, world.ann, schedule)["pdc"] == "0.800"
        assert listed_below(client, "0.8") == set()


def test_a_dose_pushed_by_the_app_moves_the_list_figure(world: World, client_for) -> None:
    schedule = _boundary_patient(world)
    staff = client_for(world.cora)
    with time_machine.travel(at(TODAY + timedelta(days=1), 8), tick=False):
        assert listed_below(staff, "0.8") == {str(world.ann.id)}
        app = App(client_for(world.ann.user), world.ann)
        app.pull()
        dose = {
            "id": str(uuid.uuid4()),
            "schedule_id": str(schedule.id),
            "taken_at": int(at(TODAY, 21).timestamp() * 1000),  # yesterday evening's, synced this morning
            "status": "taken",
            "source": "app",
            "site": "",
            "note": "",
            "occurrence_on": None,
            "_status": "created",
            "_changed": "",
        }
        app.push(table_changes(dose_records={"created": [dose]}))
        assert adherence_row(staff, world.ann, schedule)["pdc"] == "0.800"
        assert listed_below(staff, "0.8") == set()


def test_a_new_time_zone_moves_her_midnight_for_the_list_too(world: World, client_for) -> None:
    schedule = _boundary_patient(world)
    staff = client_for(world.cora)
    # 23:30 in London is 15:30 in Los Angeles: moving her there keeps her on TODAY for 8.5 more hours.
    with time_machine.travel(at(TODAY, 23, 30), tick=False):
        response = staff.patch(f"/api/v1/patients/{world.ann.id}/", {"timezone": str(LA)}, format="json")
        assert response.status_code == 200, response.content
    with time_machine.travel(at(TODAY + timedelta(days=1), 0, 30), tick=False):  # London's midnight has passed
        assert adherence_row(staff, world.ann, schedule)["pdc"] == "0.800"
        assert listed_below(staff, "0.8") == set()
    with time_machine.travel(at(TODAY + timedelta(days=1), 0, 0, zone=LA), tick=False):  # hers has now
        assert adherence_row(staff, world.ann, schedule)["pdc"] == "0.788"
        assert listed_below(staff, "0.8") == {str(world.ann.id)}


def test_today_counts_once_a_dose_covers_it_not_before(world: World, client_for) -> None:
    # Daily letrozole entered 30 days ago, every dose taken up to yesterday. At 07:00 today's dose is still to come:
    # today is not a missed day (the window ends yesterday, PDC 1.000, not 30 / 31 = 0.967); once taken, it counts.
    entered = TODAY - timedelta(days=30)
    with time_machine.travel(at(entered, 6), tick=False):
        schedule = make_schedule(world.ann, "letrozole", starts_on=entered)
    with time_machine.travel(at(TODAY, 7), tick=False):
        for k in range(30):
            make_dose(world.ann, schedule, taken_at=at(entered + timedelta(days=k), 8))
        row = adherence_row(client_for(world.cora), world.ann, schedule)
        assert (row["pdc"], row["days_in_window"], row["days_covered"], row["tracked_days"]) == ("1.000", 30, 30, 30)
        assert listed_below(client_for(world.cora), "1.0") == set()
    with time_machine.travel(at(TODAY, 8, 30), tick=False):
        make_dose(world.ann, schedule, taken_at=at(TODAY, 8))
        row = adherence_row(client_for(world.cora), world.ann, schedule)
        assert (row["pdc"], row["days_in_window"], row["days_covered"], row["tracked_days"]) == ("1.000", 31, 31, 31)
    # A day that ended uncovered is missed: tomorrow, with no dose, the window ends on it.
    with time_machine.travel(at(TODAY + timedelta(days=2), 7), tick=False):
        row = adherence_row(client_for(world.cora), world.ann, schedule)
        assert (row["pdc"], row["days_in_window"], row["days_covered"]) == ("0.968", 32, 31)  # 31 / 32
        assert listed_below(client_for(world.cora), "1.0") == {str(world.ann.id)}
