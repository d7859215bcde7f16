"""Contact attempts on an alert (issue 14, point 2): repeatable, newest first, the follow-up date makes the alert
wait until that date begins in the patient's zone (across DST changes), last contact on the list, bad input and
other organisations refused with nothing written; the alert list's filters, sort and accent-blind search (point 7)
and acting on several alerts at once."""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.alerts.models import Alert, AlertEvent, AlertState, ContactAttempt
from apps.alerts.services import alert_raise, alert_resolve
from apps.profiles.models import PatientProfile
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import CareTeamFactory, PatientFactory

UTC = ZoneInfo("UTC")
LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 10, 20, 10, 0, tzinfo=LONDON)  # before the clocks go back (Sunday 25 October 2026)
pytestmark = pytest.mark.django_db


def raise_alert(patient: Patient, severity: str = "high", *, kind: str = "test_alert", at: datetime = T0) -> Alert:
    alert = alert_raise(
        patient=patient, kind=kind, severity=severity, message=f"{kind} ({severity})", episode=uuid.uuid4().hex, now=at
    )
    assert alert is not None
    return alert


def contacts_url(alert: Alert) -> str:
    return f"/api/v1/alerts/{alert.id}/contacts/"


def listed(client, **params) -> list[dict]:
    response = client.get("/api/v1/alerts/", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_two_attempts_are_listed_newest_first_and_the_follow_up_makes_the_alert_wait(world: World, client_for) -> None:
    alert = raise_alert(world.ann)
    client = client_for(world.cora)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        first = client.post(contacts_url(alert), {"channel": "phone", "outcome": "no_answer"}, format="json")
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        second = client.post(
            contacts_url(alert),
            {
                "channel": "sms",
                "outcome": "left_message",
                "note": "Asked her to call back",
                "follow_up_on": "2026-10-23",
            },
            format="json",
        )
        assert (first.status_code, second.status_code) == (201, 201), (first.content, second.content)
        history = client.get(contacts_url(alert)).json()["results"]
        row = listed(client)[0]
    assert [h["outcome"] for h in history] == ["left_message", "no_answer"]
    assert history[0]["follow_up_on"] == "2026-10-23"
    assert history[0]["by"] == world.cora.full_name
    assert row["waiting"] is True and row["follow_up_on"] == "2026-10-23" and row["contact_count"] == 2
    assert row["last_contact"]["outcome"] == "left_message" and row["last_contact"]["channel"] == "sms"
    assert row["state"] == "open"  # logging a contact does not acknowledge
    assert AuditEvent.objects.filter(actor=world.cora, action="create", resource="contact_attempt").count() == 2


def test_the_acknowledge_action_still_works_once_and_contacts_keep_coming(world: World, client_for) -> None:
    alert = raise_alert(world.ann)
    client = client_for(world.cora)
    assert client.post(f"/api/v1/alerts/{alert.id}/acknowledge/", {}, format="json").status_code == 200
    for outcome in ("no_answer", "no_answer", "reached"):
        response = client.post(contacts_url(alert), {"channel": "phone", "outcome": outcome}, format="json")
        assert response.status_code == 201
    assert ContactAttempt.objects.filter(alert=alert).count() == 3


@pytest.mark.parametrize(
    ("zone", "logged", "follow_up", "still_waiting", "back"),
    [
        # London, clocks go back on 25 Oct: 26 Oct begins at 00:00 GMT = 00:00 UTC (not 23:00 UTC as in summer).
        (
            "Europe/London",
            datetime(2026, 10, 20, 9, 0, tzinfo=UTC),
            "2026-10-26",
            datetime(2026, 10, 25, 23, 30, tzinfo=UTC),
            datetime(2026, 10, 26, 0, 0, 1, tzinfo=UTC),
        ),
        # Los Angeles, clocks go forward on 8 Mar: 9 Mar begins at 00:00 PDT = 07:00 UTC (not 08:00 as in winter).
        (
            "America/Los_Angeles",
            datetime(2026, 3, 5, 18, 0, tzinfo=UTC),
            "2026-03-09",
            datetime(2026, 3, 9, 6, 59, tzinfo=UTC),
            datetime(2026, 3, 9, 7, 0, 1, tzinfo=UTC),
        ),
    ],
    ids=["london-autumn", "los-angeles-spring"],
)
def test_a_waiting_alert_comes_back_to_the_top_when_its_date_begins_in_her_zone_across_dst(
    world: World, client_for, zone: str, logged: datetime, follow_up: str, still_waiting: datetime, back: datetime
) -> None:
    PatientProfile.objects.filter(pk=world.ann.pk).update(timezone=zone)
    bea = PatientFactory.create(organisation=world.org_a, user__full_name="Bea Other")
    CareTeamFactory.create(patient=bea, staff=world.cora)
    mild = raise_alert(world.ann, "low", at=logged - timedelta(days=1))
    urgent = raise_alert(bea, "urgent", at=logged - timedelta(days=1))
    client = client_for(world.cora)
    with time_machine.travel(logged, tick=False):
        response = client.post(
            contacts_url(mild), {"channel": "phone", "outcome": "no_answer", "follow_up_on": follow_up}, format="json"
        )
        assert response.status_code == 201, response.content
    with time_machine.travel(still_waiting, tick=False):
        assert [r["id"] for r in listed(client, waiting="true")] == [str(mild.id)]
        assert [r["id"] for r in listed(client, waiting="false")] == [str(urgent.id)]
    with time_machine.travel(back, tick=False):
        rows = listed(client)
        assert [r["id"] for r in rows] == [str(mild.id), str(urgent.id)]  # back, and on top: the promised call
        assert rows[0]["waiting"] is False
        assert listed(client, waiting="true") == []


def test_a_time_zone_change_moves_when_the_wait_ends(world: World, client_for) -> None:
    alert = raise_alert(world.ann)
    with time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False):
        client_for(world.cora).post(
            contacts_url(alert),
            {"channel": "phone", "outcome": "no_answer", "follow_up_on": "2026-06-05"},
            format="json",
        )
        response = client_for(world.cora).patch(
            f"/api/v1/patients/{world.ann.id}/", {"timezone": "Pacific/Auckland"}, format="json"
        )
        assert response.status_code == 200
    alert.refresh_from_db()
    assert alert.waiting_until == datetime(2026, 6, 4, 12, 0, tzinfo=UTC)  # 5 June 00:00 NZST


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "carrier_pigeon", "outcome": "reached"}, "channel"),
        ({"channel": "phone", "outcome": "maybe"}, "outcome"),
        ({"channel": "phone"}, "outcome"),
        ({"channel": "phone", "outcome": "reached", "follow_up_on": "2026-10-19"}, "follow_up_on"),  # yesterday
        ({"channel": "phone", "outcome": "reached", "follow_up_on": "2026-10-20T09:00:00Z"}, "follow_up_on"),
        ({"channel": "phone", "outcome": "reached", "follow_up_on": "2028-01-01"}, "follow_up_on"),
        ({"channel": "phone", "outcome": "reached", "who": "me"}, "who"),
        ({"channel": "phone", "outcome": "reached", "note": 5}, "note"),
    ],
)
def test_bad_contact_input_is_a_400_and_writes_nothing(world: World, client_for, body: dict, field: str) -> None:
    alert = raise_alert(world.ann)
    with time_machine.travel(T0, tick=False):
        response = client_for(world.cora).post(contacts_url(alert), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not ContactAttempt.objects.exists()
    alert.refresh_from_db()
    assert alert.follow_up_on is None


def test_a_resolved_alert_takes_no_contact_attempt_409(world: World, client_for) -> None:
    alert = raise_alert(world.ann)
    alert_resolve(alert=alert, actor=world.cora, note="Injection booked")
    response = client_for(world.cora).post(
        contacts_url(alert), {"channel": "phone", "outcome": "reached"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert not ContactAttempt.objects.exists()
    assert client_for(world.cora).get(contacts_url(alert)).status_code == 200  # its history stays readable


def test_who_may_log_and_read_contacts(world: World, client_for) -> None:
    alert = raise_alert(world.ann)
    body = {"channel": "phone", "outcome": "reached"}
    for outsider in (world.zed, world.pia, world.cody):  # another organisation, or not her coordinator
        assert client_for(outsider).post(contacts_url(alert), body, format="json").status_code == 404
        assert client_for(outsider).get(contacts_url(alert)).status_code == 404
    assert client_for(world.ann.user).post(contacts_url(alert), body, format="json").status_code in (403, 404)
    assert client_for(world.ann.user).get(contacts_url(alert)).status_code in (403, 404)
    assert client_for(world.phil).post(contacts_url(alert), body, format="json").status_code == 403
    assert client_for(world.phil).get(contacts_url(alert)).status_code == 200  # pharmacists read, as alerts
    assert not ContactAttempt.objects.exists()
    assert client_for(world.cora).get(f"/api/v1/alerts/{uuid.uuid4()}/contacts/").status_code == 404


# --- the list: filters, sort, search (point 7) ---------------------------------------------------------------------


def test_search_ignores_accents_and_case_and_filters_combine(world: World, client_for) -> None:
    marta = PatientFactory.create(organisation=world.org_a, user__full_name="Marta Martínez")
    CareTeamFactory.create(patient=marta, staff=world.cora)
    hers = raise_alert(marta, "urgent", kind="denosumab_late")
    raise_alert(world.ann, "low", kind="low_adherence")
    client = client_for(world.cora)
    for q in ("Martinez", "MARTÍNEZ", "martínez", "tinez"):
        assert [r["id"] for r in listed(client, q=q)] == [str(hers.id)], q
    assert [r["kind"] for r in listed(client, level="high")] == ["denosumab_late"]
    assert [r["kind"] for r in listed(client, kind="low_adherence")] == ["low_adherence"]
    assert [r["patient_name"] for r in listed(client, sort="name")] == ["Ann Archer", "Marta Martínez"]
    bad = client.get("/api/v1/alerts/", {"sort": "colour"})
    assert bad.status_code == 400 and "sort" in bad.json()["error"]["fields"]
    assert client.get("/api/v1/alerts/", {"level": "severe"}).status_code == 400


def test_a_renamed_patient_is_found_by_her_new_name(world: World, client_for) -> None:
    raise_alert(world.ann)
    client = client_for(world.cora)
    assert (
        client.patch(f"/api/v1/patients/{world.ann.id}/", {"full_name": "Ann Núñez"}, format="json").status_code == 200
    )
    assert [r["patient_name"] for r in listed(client, q="nunez")] == ["Ann Núñez"]
    patients = client.get("/api/v1/patients/", {"q": "NUNEZ"}).json()["results"]
    assert [p["id"] for p in patients] == [str(world.ann.id)]


# --- several at once -------------------------------------------------------------------------------------------------


def test_acknowledge_several_at_once_each_audited(world: World, client_for) -> None:
    a, b = raise_alert(world.ann), raise_alert(world.ann, "low")
    response = client_for(world.cora).post(
        "/api/v1/alerts/bulk/", {"action": "acknowledge", "ids": [str(a.id), str(b.id)]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert {r["state"] for r in response.json()} == {"acknowledged"}
    assert AlertEvent.objects.filter(action="acknowledged", actor=world.cora).count() == 2
    assert AuditEvent.objects.filter(actor=world.cora, action="update", resource="alert").count() == 2


def test_bulk_with_one_out_of_scope_or_one_not_open_changes_nothing(world: World, client_for) -> None:
    mine, theirs = raise_alert(world.ann), raise_alert(world.zoe)
    client = client_for(world.cora)
    response = client.post(
        "/api/v1/alerts/bulk/",
        {"action": "resolve", "note": "done", "ids": [str(mine.id), str(theirs.id)]},
        format="json",
    )
    assert response.status_code == 404
    already = raise_alert(world.ann, "low")
    alert_resolve(alert=already, actor=world.cora, note="earlier")
    response = client.post(
        "/api/v1/alerts/bulk/",
        {"action": "resolve", "note": "done", "ids": [str(mine.id), str(already.id)]},
        format="json",
    )
    assert response.status_code == 400
    assert "ids" in response.json()["error"]["fields"]
    no_note = client.post("/api/v1/alerts/bulk/", {"action": "resolve", "ids": [str(mine.id)]}, format="json")
    assert no_note.status_code == 400
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.state, theirs.state) == (AlertState.OPEN, AlertState.OPEN)
    assert not AlertEvent.objects.filter(alert=mine).exclude(action="raised").exists()
    assert (
        client_for(world.phil)
        .post("/api/v1/alerts/bulk/", {"action": "acknowledge", "ids": [str(mine.id)]}, format="json")
        .status_code
        == 403
    )


def test_follow_up_today_is_accepted_and_does_not_wait(world: World, client_for) -> None:
    alert = raise_alert(world.ann)
    with time_machine.travel(T0, tick=False):
        response = client_for(world.cora).post(
            contacts_url(alert),
            {"channel": "phone", "outcome": "no_answer", "follow_up_on": date(2026, 10, 20).isoformat()},
            format="json",
        )
        assert response.status_code == 201
        assert listed(client_for(world.cora))[0]["waiting"] is False
