"""Exercise sessions over HTTP: client ids and idempotent re-posts, the local date of far-apart zones, bad input
(rejected whole), roles, and constant query counts."""

import threading
import time as wall
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Patient
from apps.exercise.models import ExerciseSession
from apps.exercise.rules import IsoWeek
from backend.models import AuditEvent
from tests.conftest import World
from tests.exercise.factories import make_session, set_zone

NOW = datetime(2026, 4, 15, 12, tzinfo=UTC)  # Wednesday of 2026-W16
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def sessions_url(patient: Patient, **query: str) -> str:
    url = f"/api/v1/patients/{patient.id}/exercise-sessions/"
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def session_body(**extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "kind": "weight_bearing",
        "minutes": 40,
        "performed_at": (NOW - timedelta(hours=2)).isoformat(),
        **extra,
    }


def errors(response) -> dict[str, list[str]]:
    body = response.json()
    assert body["error"]["code"] == "invalid", body
    return body["error"]["fields"]


# --- recording -----------------------------------------------------------------------------------------------
def test_patient_logs_a_session_and_a_repost_is_idempotent(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    body = session_body(kind="balance", minutes=25, note="tai chi in the park")
    first = client.post(sessions_url(world.ann), body, format="json")
    assert first.status_code == 201, first.content
    shown = first.json()
    assert (shown["id"], shown["kind"], shown["minutes"], shown["note"]) == (
        body["id"],
        "balance",
        25,
        "tai chi in the park",
    )
    assert shown["performed_on"] == "2026-04-15"
    assert shown["recorded_by"] == str(world.ann.user.id)
    assert shown["patient"] == str(world.ann.id)
    # The phone retries (it never saw the answer): same session, 200, still one row.
    again = client.post(sessions_url(world.ann), body, format="json")
    assert again.status_code == 200, again.content
    assert again.json() == shown
    assert ExerciseSession.objects.filter(pk=body["id"]).count() == 1


def test_a_repost_with_another_body_is_a_409_naming_the_field(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    body = session_body(minutes=40)
    assert client.post(sessions_url(world.ann), body, format="json").status_code == 201
    again = client.post(sessions_url(world.ann), {**body, "minutes": 45}, format="json")
    assert again.status_code == 409
    assert list(again.json()["error"]["fields"]) == ["minutes"]
    assert ExerciseSession.objects.get(pk=body["id"]).minutes == 40


def test_a_repost_is_still_200_when_the_session_has_since_become_too_old(world: World, client_for) -> None:
    body = session_body(performed_at=(NOW - timedelta(days=399)).isoformat())
    assert client_for(world.ann.user).post(sessions_url(world.ann), body, format="json").status_code == 201
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        assert client_for(world.ann.user).post(sessions_url(world.ann), body, format="json").status_code == 200


def test_an_id_used_for_another_patient_is_refused(world: World, client_for) -> None:
    taken = make_session(world.bea)
    response = client_for(world.ann.user).post(sessions_url(world.ann), session_body(id=str(taken.id)), format="json")
    assert response.status_code == 400
    assert "id" in errors(response)
    assert ExerciseSession.objects.get(pk=taken.id).patient_id == world.bea.id


def test_a_coordinator_logs_a_supervised_session(world: World, client_for) -> None:
    response = client_for(world.cora).post(sessions_url(world.ann), session_body(), format="json")
    assert response.status_code == 201
    assert response.json()["recorded_by"] == str(world.cora.id)
    assert AuditEvent.objects.filter(actor=world.cora, patient_id=world.ann.id, action="create").exists()


def test_a_clock_a_little_ahead_is_not_the_future(world: World, client_for) -> None:
    body = session_body(performed_at=(NOW + timedelta(minutes=4)).isoformat())
    assert client_for(world.ann.user).post(sessions_url(world.ann), body, format="json").status_code == 201


# --- bad input: a clear 400 naming the field, nothing written ------------------------------------------------
BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"minutes": 2000}, "minutes"),
    ({"minutes": 301}, "minutes"),
    ({"minutes": 0}, "minutes"),
    ({"minutes": -30}, "minutes"),
    ({"minutes": "ten"}, "minutes"),
    ({"minutes": 12.5}, "minutes"),
    ({"minutes": None}, "minutes"),
    ({"kind": "swimming"}, "kind"),
    ({"kind": ""}, "kind"),
    ({"performed_at": (NOW + timedelta(minutes=10)).isoformat()}, "performed_at"),
    ({"performed_at": (NOW + timedelta(days=365)).isoformat()}, "performed_at"),
    ({"performed_at": (NOW - timedelta(days=401)).isoformat()}, "performed_at"),
    ({"performed_at": "yesterday"}, "performed_at"),
    ({"id": "not-a-uuid"}, "id"),
    ({"note": "x" * 501}, "note"),
    ({"calories": 300}, "calories"),
    ({"performed_on": "2026-04-14"}, "performed_on"),  # computed by the server, never sent
    ({"patient": "00000000-0000-0000-0000-000000000000"}, "patient"),
]


@pytest.mark.parametrize(("change", "field"), BAD_INPUT, ids=[f"{f}={v!r}"[:40] for c, f in BAD_INPUT for v in [c[f]]])
def test_bad_input_is_refused_whole(world: World, client_for, change: dict[str, Any], field: str) -> None:
    response = client_for(world.ann.user).post(sessions_url(world.ann), session_body(**change), format="json")
    assert response.status_code == 400, response.content
    assert field in errors(response)
    assert not ExerciseSession.objects.exists()


@pytest.mark.parametrize("missing", ["id", "kind", "minutes", "performed_at"])
def test_required_fields(world: World, client_for, missing: str) -> None:
    body = session_body()
    del body[missing]
    response = client_for(world.ann.user).post(sessions_url(world.ann), body, format="json")
    assert response.status_code == 400
    assert list(errors(response)) == [missing]
    assert not ExerciseSession.objects.exists()


# --- local dates in far-apart zones ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("zone", "performed_at", "local_day", "week", "utc_week"),
    [
        # 23:30 on Sunday 8 March in Los Angeles (just after its spring change) is Monday 06:30 in UTC: local week 10.
        ("America/Los_Angeles", datetime(2026, 3, 8, 23, 30), date(2026, 3, 8), "2026-W10", "2026-W11"),
        ("America/Los_Angeles", datetime(2026, 3, 9, 0, 30), date(2026, 3, 9), "2026-W11", "2026-W11"),
        # 00:30 on Monday 9 March in Auckland is still Sunday 11:30 in UTC: local week 11.
        ("Pacific/Auckland", datetime(2026, 3, 9, 0, 30), date(2026, 3, 9), "2026-W11", "2026-W10"),
        ("Pacific/Auckland", datetime(2026, 3, 8, 23, 30), date(2026, 3, 8), "2026-W10", "2026-W10"),
    ],
)
def test_the_local_date_decides_the_week(
    world: World, client_for, zone: str, performed_at: datetime, local_day: date, week: str, utc_week: str
) -> None:
    set_zone(world.ann, zone)
    at = performed_at.replace(tzinfo=ZoneInfo(zone))
    assert str(IsoWeek.of(at.astimezone(UTC).date())) == utc_week  # what counting by UTC dates would say
    body = session_body(performed_at=at.isoformat())
    response = client_for(world.ann.user).post(sessions_url(world.ann), body, format="json")
    assert response.status_code == 201
    assert response.json()["performed_on"] == local_day.isoformat()
    other = "2026-W11" if week == "2026-W10" else "2026-W10"
    listed = client_for(world.cora).get(sessions_url(world.ann, week=week)).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert client_for(world.cora).get(sessions_url(world.ann, week=other)).json()["results"] == []


# --- listing ---------------------------------------------------------------------------------------------------
def test_list_is_newest_first_and_filters_by_week(world: World, client_for) -> None:
    old = make_session(world.ann, at=datetime(2026, 4, 5, 18))  # Sunday of week 14
    new = make_session(world.ann, at=datetime(2026, 4, 6, 7))  # Monday of week 15
    newest = make_session(world.ann, "balance", at=datetime(2026, 4, 12, 21))  # Sunday of week 15
    make_session(world.bea)
    client = client_for(world.phil)
    rows = client.get(sessions_url(world.ann)).json()["results"]
    assert [r["id"] for r in rows] == [str(newest.id), str(new.id), str(old.id)]
    assert [r["id"] for r in client.get(sessions_url(world.ann, week="2026-W15")).json()["results"]] == [
        str(newest.id),
        str(new.id),
    ]
    assert client.get(sessions_url(world.ann, week="2026-W16")).json()["results"] == []


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("2026-W99", "2026 has weeks 01 to 53."),
        ("2025-W53", "2025 has weeks 01 to 52."),
        ("this-week", "Use the ISO week form YYYY-Www, e.g. 2026-W05."),
        ("2026-W17", "Week 2026-W17 has not begun in her time zone."),
    ],
)
def test_a_bad_week_filter_is_400(world: World, client_for, week: str, message: str) -> None:
    response = client_for(world.ann.user).get(sessions_url(world.ann, week=week))
    assert response.status_code == 400
    assert errors(response) == {"week": [message]}


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_queries_do_not_grow(world: World, client_for) -> None:
    client = client_for(world.cora)
    for day in range(3):
        make_session(world.ann, at=datetime(2026, 4, 13 + day, 8))
    small = count_queries(client, sessions_url(world.ann))
    small_week = count_queries(client, sessions_url(world.ann, week="2026-W16"))
    for day in range(12):
        make_session(world.ann, "resistance", at=datetime(2026, 4, 1 + day, 8))
        make_session(world.ann, "balance", at=datetime(2026, 4, 1 + day, 9))
    assert count_queries(client, sessions_url(world.ann)) == small
    assert count_queries(client, sessions_url(world.ann, week="2026-W16")) == small_week
    assert small <= 5  # scope, count, page, audit


# --- roles -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), [("ann", 201), ("cora", 201), ("admin", 201), ("phil", 403)])
def test_who_may_log_a_session(world: World, client_for, who: str, status: int) -> None:
    actor = world.ann.user if who == "ann" else getattr(world, who)
    response = client_for(actor).post(sessions_url(world.ann), session_body(), format="json")
    assert response.status_code == status, response.content
    assert ExerciseSession.objects.count() == (1 if status == 201 else 0)


@pytest.mark.parametrize("who", ["bea", "cody", "zed", "pia"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_out_of_scope_is_404(world: World, client_for, who: str, method: str) -> None:
    actor = world.bea.user if who == "bea" else getattr(world, who)
    response = getattr(client_for(actor), method)(sessions_url(world.ann), session_body(), format="json")
    assert response.status_code == 404
    assert not ExerciseSession.objects.exists()


def test_anonymous_is_401(world: World, api) -> None:
    assert api.post(sessions_url(world.ann), session_body(), format="json").status_code == 401


# --- concurrency -----------------------------------------------------------------------------------------------
def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is otherwise frozen
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_posts_of_the_same_id_at_once_are_201_and_200(world: World, client_for) -> None:
    body = session_body()
    results: list[object] = []

    def post() -> None:
        try:
            results.append(client_for(world.ann.user).post(sessions_url(world.ann), body, format="json").status_code)
        except Exception as exc:  # a 500 surfaces as the exception in the test client
            results.append(type(exc).__name__)
        finally:
            connection.close()

    # An uncommitted row with the same id makes both requests pass the id lookup and wait at the insert; rolling it
    # back lets one insert and the other find that one's row.
    threads = [threading.Thread(target=post) for _ in range(2)]
    with transaction.atomic():
        ExerciseSession.objects.create(
            id=body["id"], patient=world.ann, kind="balance", minutes=5, performed_at=NOW, performed_on=NOW.date()
        )
        for thread in threads:
            thread.start()
        deadline = wall.monotonic() + 10
        while _waiting_on_locks() < 2 and wall.monotonic() < deadline:
            wall.sleep(0.02)
        assert _waiting_on_locks() == 2
        transaction.set_rollback(True)
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [200, 201]
    stored = ExerciseSession.objects.get(pk=body["id"])
    assert (stored.kind, stored.minutes) == ("weight_bearing", 40)
