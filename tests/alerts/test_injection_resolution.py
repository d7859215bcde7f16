"""Issue 11 class 2 (DOMAIN D2, D5): resolution follows the injection state, not the write. Only an injection that
moves the due date out of the alerting bands resolves a delay alert; a back-filled older injection, or a record later
corrected to skipped, leaves her late and her alert open (or raised again, once). Through REST and through sync."""

import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.alerts.jobs import injection_watch
from apps.alerts.models import Alert
from apps.medications.models import Medication
from tests.conftest import World
from tests.sync.conftest import App, table_changes

LONDON = ZoneInfo("Europe/London")
GIVEN = date(2026, 1, 5)  # last injection: next due 2026-07-05 (DOMAIN D1)
LATE_DAY = date(2026, 8, 20)  # 46 days after: late (DOMAIN D4/D5)


def at_local(day: date, hour: int = 12) -> time_machine.travel:
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=LONDON), tick=False)


def noon(day: date) -> str:
    return datetime.combine(day, time(12), tzinfo=LONDON).isoformat()


def post_dose(client: Any, patient: Patient, schedule_id: str, day: date, dose_id: str | None = None) -> str:
    dose_id = dose_id or str(uuid.uuid4())
    body = {"id": dose_id, "schedule": schedule_id, "taken_at": noon(day), "source": "clinic"}
    response = client.post(f"/api/v1/patients/{patient.id}/doses/", body, format="json")
    assert response.status_code == 201, response.content
    return dose_id


def late_denosumab(client: Any, patient: Patient) -> str:
    with at_local(GIVEN):
        response = client.post(
            f"/api/v1/patients/{patient.id}/schedules/",
            {
                "medication": str(Medication.objects.get(code="denosumab").id),
                "local_time": "09:00",
                "starts_on": "2026-01-05",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        schedule_id = str(response.json()["id"])
        post_dose(client, patient, schedule_id, GIVEN)
    with at_local(LATE_DAY):
        injection_watch()
    return schedule_id


def worklist(client: Any) -> list[str]:
    return [row["kind"] for row in client.get("/api/v1/alerts/").json()["results"]]


def schedule_shown(client: Any, patient: Patient, schedule_id: str) -> dict[str, Any]:
    return dict(client.get(f"/api/v1/patients/{patient.id}/schedules/{schedule_id}/").json())


def test_a_back_filled_older_injection_leaves_her_late_and_the_alert_open(world: World, client_for) -> None:
    cora = client_for(world.cora)
    schedule_id = late_denosumab(cora, world.ann)
    with at_local(LATE_DAY):
        assert worklist(cora) == ["denosumab_late"]
        post_dose(cora, world.ann, schedule_id, date(2025, 9, 1))  # an older injection, entered for the record
        injection_watch()
        assert worklist(cora) == ["denosumab_late"]
        shown = schedule_shown(cora, world.ann, schedule_id)
    assert (shown["next_due"], shown["injection_state"]) == ("2026-07-05", "late")
    assert Alert.objects.get(patient=world.ann).state == "open"  # the same alert, not a new one


def test_an_injection_that_still_leaves_her_late_keeps_the_same_open_alert(world: World, client_for) -> None:
    cora = client_for(world.cora)
    schedule_id = late_denosumab(cora, world.ann)
    with at_local(LATE_DAY):
        post_dose(cora, world.ann, schedule_id, date(2026, 1, 20))  # moves due to 2026-07-20: day 31, still late
        injection_watch()
        shown = schedule_shown(cora, world.ann, schedule_id)
        assert worklist(cora) == ["denosumab_late"]
    assert (shown["next_due"], shown["injection_state"]) == ("2026-07-20", "late")
    assert Alert.objects.get(patient=world.ann).state == "open"


def test_an_injection_into_a_milder_band_replaces_the_alert_with_that_bands(world: World, client_for) -> None:
    cora = client_for(world.cora)
    schedule_id = late_denosumab(cora, world.ann)
    with at_local(LATE_DAY):
        post_dose(cora, world.ann, schedule_id, date(2026, 2, 2))  # moves due to 2026-08-02: day 18, due (D5)
        injection_watch()
        shown = schedule_shown(cora, world.ann, schedule_id)
        assert worklist(cora) == ["denosumab_due"]  # one alert, at the severity she is at now
    assert (shown["next_due"], shown["injection_state"]) == ("2026-08-02", "due")


def test_an_injection_out_of_the_alerting_bands_resolves_it(world: World, client_for) -> None:
    cora = client_for(world.cora)
    schedule_id = late_denosumab(cora, world.ann)
    with at_local(LATE_DAY):
        post_dose(cora, world.ann, schedule_id, date(2026, 2, 14))  # due 2026-08-14: day 6, no alert yet (D5)
        assert worklist(cora) == []
    alert = Alert.objects.get(patient=world.ann)
    assert alert.state == "resolved"
    assert "next due 14 August 2026" in alert.resolution_note


def test_an_injection_corrected_to_skipped_raises_the_alert_again_once(world: World, client_for) -> None:
    cora = client_for(world.cora)
    schedule_id = late_denosumab(cora, world.ann)
    with at_local(LATE_DAY):
        dose_id = post_dose(cora, world.ann, schedule_id, LATE_DAY)
        assert worklist(cora) == []
        response = cora.patch(f"/api/v1/patients/{world.ann.id}/doses/{dose_id}/", {"status": "skipped"}, format="json")
        assert response.status_code == 200, response.content
        assert schedule_shown(cora, world.ann, schedule_id)["injection_state"] == "late"
        injection_watch()
        injection_watch()
        assert worklist(cora) == ["denosumab_late"]
    assert sorted(Alert.objects.filter(patient=world.ann).values_list("state", flat=True)) == ["open", "resolved"]


def test_an_alert_the_coordinator_resolved_stays_resolved_when_nothing_changed(world: World, client_for) -> None:
    cora = client_for(world.cora)
    schedule_id = late_denosumab(cora, world.ann)
    alert = Alert.objects.get(patient=world.ann)
    with at_local(LATE_DAY):
        response = cora.post(f"/api/v1/alerts/{alert.id}/resolve/", {"note": "Booked for Friday."}, format="json")
        assert response.status_code == 200
        post_dose(cora, world.ann, schedule_id, date(2025, 9, 1))  # back-filled: no change to her state
        injection_watch()
        assert worklist(cora) == []


@pytest.mark.django_db(transaction=True)
def test_a_synced_correction_to_skipped_raises_the_alert_again(world: World, client_for) -> None:
    cora = client_for(world.cora)
    schedule_id = late_denosumab(cora, world.ann)
    app = App(client_for(world.ann.user), world.ann)
    with at_local(LATE_DAY):
        dose_id = post_dose(cora, world.ann, schedule_id, LATE_DAY)
        assert worklist(cora) == []
        pulled = app.pull()["changes"]["dose_records"]["created"]
        row = next(r for r in pulled if r["id"] == dose_id)
        assert app.push(table_changes(dose_records={"updated": [{**row, "status": "skipped"}]})) == {}
        injection_watch()
        assert worklist(cora) == ["denosumab_late"]


def test_a_time_zone_change_rechecks_her_injection_in_her_new_local_day(world: World, client_for) -> None:
    """Sibling of the classes above: the watch's next check was London's midnight; moved to Auckland she is already
    on day 29 (late) there, and the alert must not wait for London's midnight."""
    cora = client_for(world.cora)
    with at_local(GIVEN):
        response = cora.post(
            f"/api/v1/patients/{world.ann.id}/schedules/",
            {
                "medication": str(Medication.objects.get(code="denosumab").id),
                "local_time": "09:00",
                "starts_on": "2026-01-05",
            },
            format="json",
        )
        schedule_id = str(response.json()["id"])
        post_dose(cora, world.ann, schedule_id, GIVEN)  # due 2026-07-05; late from 2026-08-03 (day 29)
    with at_local(date(2026, 8, 2)):
        injection_watch()
        assert worklist(cora) == ["denosumab_due"]
    with time_machine.travel(datetime(2026, 8, 2, 13, 0, tzinfo=ZoneInfo("UTC")), tick=False):  # 3 Aug 01:00 in NZ
        response = cora.patch(f"/api/v1/patients/{world.ann.id}/", {"timezone": "Pacific/Auckland"}, format="json")
        assert response.status_code == 200, response.content
        injection_watch()
        assert worklist(cora) == ["denosumab_late"]
