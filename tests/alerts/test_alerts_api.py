"""Alerts for staff through the API: most urgent first, state filter, who sees which alert, acknowledge and resolve
with history, exactly-once raising, constant query counts, the patient list's alert_level filter; and the patient's
plain-language notices (API "Alerts", DOMAIN D5)."""

import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Patient
from apps.alerts.jobs import injection_watch
from apps.alerts.models import Alert, AlertEvent, AlertState
from apps.alerts.services import alert_acknowledge, alert_raise, alert_resolve
from tests.conftest import World
from tests.factories import CareTeamFactory, PatientFactory, make_schedule

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 6, 15, 9, 0, tzinfo=LONDON)


def raise_alert(patient: Patient, severity: str = "normal", *, kind: str = "test_alert", at: datetime = T0) -> Alert:
    alert = alert_raise(
        patient=patient,
        kind=kind,
        severity=severity,
        message=f"{kind} ({severity})",
        episode=uuid.uuid4().hex,
        rule="T1",
        now=at,
    )
    assert alert is not None
    return alert


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def local_noon(patient: Patient, day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(patient.profile.timezone))


def critical_denosumab_alert(world: World, patient: Patient) -> Alert:
    """A real alert: denosumab due 2026-01-05, the watch runs 120 days later (> 112: critical, urgent)."""
    due = date(2026, 1, 5)
    with time_machine.travel(local_noon(patient, due - timedelta(days=30)), tick=False):
        make_schedule(patient, "denosumab", starts_on=due)
    with time_machine.travel(local_noon(patient, due + timedelta(days=120)), tick=False):
        report = injection_watch()
    assert report.alerts_raised == 1
    return Alert.objects.get(patient=patient, kind="denosumab_critical")


# --- list: order and state filter ----------------------------------------------------------------------------------


def test_list_is_most_urgent_first_then_oldest(world: World, client_for) -> None:
    normal_new = raise_alert(world.ann, "normal", at=T0 + timedelta(hours=2))
    low = raise_alert(world.ann, "low", at=T0 - timedelta(days=3))
    normal_old = raise_alert(world.ann, "normal", at=T0)
    high = raise_alert(world.ann, "high", at=T0 + timedelta(hours=5))
    critical = critical_denosumab_alert(world, world.ann)  # raised last of all, yet listed first
    rows = results(client_for(world.cora).get("/api/v1/alerts/"))
    assert [r["id"] for r in rows] == [str(a.id) for a in (critical, high, normal_old, normal_new, low)]
    first = rows[0]
    assert {"id", "patient", "kind", "severity", "raised_at", "state"} <= set(first)  # API "Alerts" contract
    assert (first["kind"], first["severity"], first["state"]) == ("denosumab_critical", "urgent", "open")
    assert first["patient"] == str(world.ann.id)
    assert first["patient_name"] == "Ann Archer"
    assert first["schedule"] is not None


def test_default_lists_open_and_acknowledged_state_filter_picks_resolved(world: World, client_for) -> None:
    open_ = raise_alert(world.ann, "high")
    acknowledged = alert_acknowledge(alert=raise_alert(world.ann, "normal"), actor=world.cora)
    resolved = alert_resolve(alert=raise_alert(world.ann, "urgent"), actor=world.cora, note="Booked for Monday.")
    client = client_for(world.cora)
    assert {r["id"] for r in results(client.get("/api/v1/alerts/"))} == {str(open_.id), str(acknowledged.id)}
    shown = results(client.get("/api/v1/alerts/?state=resolved"))
    assert [(r["id"], r["state"]) for r in shown] == [(str(resolved.id), "resolved")]
    assert shown[0]["resolution_note"] == "Booked for Monday."
    assert [r["id"] for r in results(client.get("/api/v1/alerts/?state=open"))] == [str(open_.id)]
    both = results(client.get("/api/v1/alerts/?state=open&state=resolved"))
    assert {r["id"] for r in both} == {str(open_.id), str(resolved.id)}


def test_unknown_state_is_400(world: World, client_for) -> None:
    response = client_for(world.cora).get("/api/v1/alerts/?state=bogus")
    assert response.status_code == 400
    assert "state" in response.json()["error"]["fields"]


# --- who sees which alert --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("cora", {"ann"}),  # her assigned patient only
        ("cody", set()),  # a coordinator with no patients
        ("phil", {"ann", "bea"}),  # a pharmacist: his whole organisation
        ("zed", {"zoe"}),
        ("pia", {"zoe"}),
        ("admin", {"ann", "bea", "zoe"}),
    ],
)
def test_alert_matrix(world: World, client_for, who: str, sees: set[str]) -> None:
    ids = {name: str(raise_alert(getattr(world, name)).id) for name in ("ann", "bea", "zoe")}
    rows = results(client_for(getattr(world, who)).get("/api/v1/alerts/"))
    assert {r["id"] for r in rows} == {ids[name] for name in sees}


@pytest.mark.parametrize("who", ["ann", "zoe"])
def test_patients_cannot_list_alerts(world: World, client_for, who: str) -> None:
    raise_alert(world.ann)
    raise_alert(world.zoe)
    patient = getattr(world, who)
    assert client_for(patient.user).get("/api/v1/alerts/").status_code == 403


# --- acknowledge and resolve -----------------------------------------------------------------------------------------


def test_acknowledge_records_who_and_when_then_twice_is_400(world: World, client_for) -> None:
    alert = raise_alert(world.ann, "high")
    client = client_for(world.cora)
    at = T0 + timedelta(hours=1)
    with time_machine.travel(at, tick=False):
        response = client.post(f"/api/v1/alerts/{alert.id}/acknowledge/", {"note": "Calling her."}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "acknowledged"
    assert body["acknowledged_by"] == str(world.cora.id)
    assert datetime.fromisoformat(body["acknowledged_at"]) == at
    assert [(e["action"], e["actor"], e["note"]) for e in body["events"]] == [
        ("raised", None, ""),
        ("acknowledged", str(world.cora.id), "Calling her."),
    ]
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by_id, alert.acknowledged_at) == (
        AlertState.ACKNOWLEDGED,
        world.cora.id,
        at,
    )

    again = client.post(f"/api/v1/alerts/{alert.id}/acknowledge/", {}, format="json")
    assert again.status_code == 400
    assert "state" in again.json()["error"]["fields"]
    assert AlertEvent.objects.filter(alert=alert, action="acknowledged").count() == 1


def test_resolve_with_note_keeps_history_in_order(world: World, client_for) -> None:
    alert = raise_alert(world.ann, "high", at=T0)
    client = client_for(world.cora)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert client.post(f"/api/v1/alerts/{alert.id}/acknowledge/", {}, format="json").status_code == 200
    resolved_at = T0 + timedelta(hours=2)
    with time_machine.travel(resolved_at, tick=False):
        response = client.post(
            f"/api/v1/alerts/{alert.id}/resolve/", {"note": "  Injection booked for 20 June.  "}, format="json"
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "resolved"
    assert body["resolved_by"] == str(world.cora.id)
    assert datetime.fromisoformat(body["resolved_at"]) == resolved_at
    assert body["resolution_note"] == "Injection booked for 20 June."
    assert [e["action"] for e in body["events"]] == ["raised", "acknowledged", "resolved"]
    assert [datetime.fromisoformat(e["at"]) for e in body["events"]] == [
        T0,
        T0 + timedelta(hours=1),
        resolved_at,
    ]
    assert body["events"][-1]["note"] == "Injection booked for 20 June."
    # Resolved alerts leave the default list; resolving again is refused.
    assert results(client.get("/api/v1/alerts/")) == []
    assert client.post(f"/api/v1/alerts/{alert.id}/resolve/", {"note": "again"}, format="json").status_code == 400
    # And a resolved alert cannot be acknowledged.
    assert client.post(f"/api/v1/alerts/{alert.id}/acknowledge/", {}, format="json").status_code == 400


def test_an_open_alert_can_be_resolved_directly(world: World, client_for) -> None:
    alert = raise_alert(world.ann)
    response = client_for(world.cora).post(f"/api/v1/alerts/{alert.id}/resolve/", {"note": "Done."}, format="json")
    assert response.status_code == 200
    assert [e["action"] for e in response.json()["events"]] == ["raised", "resolved"]


@pytest.mark.parametrize("payload", [{"note": ""}, {"note": "   "}, {}])
def test_resolve_without_note_is_400_naming_note_and_unchanged(world: World, client_for, payload: dict) -> None:
    alert = raise_alert(world.ann, "high")
    response = client_for(world.cora).post(f"/api/v1/alerts/{alert.id}/resolve/", payload, format="json")
    assert response.status_code == 400
    assert "note" in response.json()["error"]["fields"]
    alert.refresh_from_db()
    assert (alert.state, alert.resolved_at, alert.resolved_by_id) == (AlertState.OPEN, None, None)
    assert list(alert.events.values_list("action", flat=True)) == ["raised"]


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_pharmacist_and_patient_cannot_act_on_alerts(world: World, client_for, action: str) -> None:
    alert = raise_alert(world.ann)
    for user in (world.phil, world.ann.user):
        response = client_for(user).post(f"/api/v1/alerts/{alert.id}/{action}/", {"note": "x"}, format="json")
        assert response.status_code == 403, user.email
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
@pytest.mark.parametrize("who", ["zed", "cody"])
def test_alert_out_of_scope_is_404_and_unchanged(world: World, client_for, action: str, who: str) -> None:
    alert = raise_alert(world.ann)
    response = client_for(getattr(world, who)).post(
        f"/api/v1/alerts/{alert.id}/{action}/", {"note": "x"}, format="json"
    )
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN
    assert alert.events.count() == 1


def test_unknown_alert_id_is_404(world: World, client_for) -> None:
    response = client_for(world.cora).post(f"/api/v1/alerts/{uuid.uuid4()}/acknowledge/", {}, format="json")
    assert response.status_code == 404


def test_admin_may_acknowledge_any_alert(world: World, client_for) -> None:
    alert = raise_alert(world.zoe)
    response = client_for(world.admin).post(f"/api/v1/alerts/{alert.id}/acknowledge/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == str(world.admin.id)


# --- exactly once ----------------------------------------------------------------------------------------------------


def test_raising_the_same_episode_twice_makes_one_alert(world: World, client_for) -> None:
    def late(patient: Patient, episode: str) -> Alert | None:
        return alert_raise(patient=patient, kind="denosumab_late", severity="high", message="Late.", episode=episode)

    first = late(world.ann, "2026-03-02")
    second = late(world.ann, "2026-03-02")
    assert first is not None and second is None
    assert Alert.objects.filter(patient=world.ann).count() == 1
    assert AlertEvent.objects.filter(alert=first).count() == 1
    # Another episode (next injection cycle) or another patient is a new alert.
    assert late(world.ann, "2026-09-02") is not None
    assert late(world.bea, "2026-03-02") is not None
    assert len(results(client_for(world.phil).get("/api/v1/alerts/"))) == 3


# --- query counts ----------------------------------------------------------------------------------------------------


def count_queries(call: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert getattr(response, "status_code", None) == 200
    return len(ctx.captured_queries)


def grow_alerts(world: World, n: int) -> None:
    for i in range(n):
        patient = PatientFactory.create(organisation=world.org_a)
        CareTeamFactory.create(patient=patient, staff=world.cora)
        alert = raise_alert(patient, ("low", "normal", "high", "urgent")[i % 4])
        if i % 3 == 0:
            alert_acknowledge(alert=alert, actor=world.cora)


@pytest.mark.parametrize("who", ["cora", "phil", "admin"])
def test_alert_list_queries_do_not_grow(world: World, client_for, who: str) -> None:
    client = client_for(getattr(world, who))
    grow_alerts(world, 3)
    small = count_queries(lambda: client.get("/api/v1/alerts/"))
    grow_alerts(world, 12)
    assert len(results(client.get("/api/v1/alerts/"))) == 15
    assert count_queries(lambda: client.get("/api/v1/alerts/")) == small


# --- patient list filter ---------------------------------------------------------------------------------------------


def test_patient_list_alert_level_filter(world: World, client_for) -> None:
    raise_alert(world.ann, "high")
    raise_alert(world.bea, "normal")
    alert_resolve(alert=raise_alert(world.bea, "urgent"), actor=world.cora, note="Given.")  # resolved: not counted
    dora = PatientFactory.create(organisation=world.org_a, user__full_name="Dora Dent")
    alert_acknowledge(alert=raise_alert(dora, "urgent"), actor=world.phil)  # acknowledged is still open (not resolved)
    PatientFactory.create(organisation=world.org_a)  # no alerts at all
    raise_alert(world.zoe, "urgent")  # other organisation
    client = client_for(world.phil)

    def names(query: str) -> set[str]:
        return {p["full_name"] for p in results(client.get(f"/api/v1/patients/?{query}"))}

    assert names("alert_level=high") == {"Ann Archer", "Dora Dent"}
    assert names("alert_level=urgent") == {"Dora Dent"}
    assert names("alert_level=normal") == {"Ann Archer", "Bea Baker", "Dora Dent"}
    assert names("alert_level=high&q=ann") == {"Ann Archer"}
    assert len(names("")) == 4  # no filter: every org A patient
    # A coordinator's filter stays within her assigned patients.
    assert {p["id"] for p in results(client_for(world.cora).get("/api/v1/patients/?alert_level=high"))} == {
        str(world.ann.id)
    }


def test_patient_list_unknown_alert_level_is_400(world: World, client_for) -> None:
    response = client_for(world.phil).get("/api/v1/patients/?alert_level=purple")
    assert response.status_code == 400
    assert "alert_level" in response.json()["error"]["fields"]


# --- notices for the patient -----------------------------------------------------------------------------------------


def test_injection_watch_notice_is_listed_for_the_patient(world: World, client_for) -> None:
    due = date(2026, 3, 2)
    with time_machine.travel(local_noon(world.ann, due - timedelta(days=10)), tick=False):
        schedule = make_schedule(world.ann, "denosumab", starts_on=due)
    with time_machine.travel(local_noon(world.ann, due + timedelta(days=40)), tick=False):
        injection_watch()
    for user in (world.ann.user, world.cora, world.phil, world.admin):
        rows = results(client_for(user).get(f"/api/v1/patients/{world.ann.id}/notices/"))
        assert len(rows) == 1, user.email
        notice = rows[0]
        assert notice["kind"] == "denosumab_late"
        assert notice["schedule"] == str(schedule.id)
        assert "denosumab" in notice["title"].lower()
        assert "2 March 2026" in notice["title"] + notice["body"]  # the due date, in plain words
        assert "call your clinic" in notice["body"]
    assert results(client_for(world.bea.user).get(f"/api/v1/patients/{world.bea.id}/notices/")) == []


@pytest.mark.parametrize(("who", "whose"), [("bea", "ann"), ("cora", "bea"), ("cody", "ann"), ("zed", "ann")])
def test_notices_of_another_patient_are_404(world: World, client_for, who: str, whose: str) -> None:
    due = date(2026, 3, 2)
    with time_machine.travel(local_noon(world.ann, due - timedelta(days=10)), tick=False):
        make_schedule(world.ann, "denosumab", starts_on=due)
        make_schedule(world.bea, "denosumab", starts_on=due)
    with time_machine.travel(local_noon(world.ann, due + timedelta(days=40)), tick=False):
        injection_watch()
    user = getattr(world, who)
    user = user.user if isinstance(user, Patient) else user
    patient = getattr(world, whose)
    assert client_for(user).get(f"/api/v1/patients/{patient.id}/notices/").status_code == 404
