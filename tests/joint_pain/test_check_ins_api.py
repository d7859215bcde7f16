"""The weekly check-in over HTTP: client ids (replay 200, other values 409), one per local ISO week (a second one of
the week replaces the first; the week boundary is hers, not UTC's), bad input refused whole, who may read and write,
audit, the list and the trend, and constant query counts."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.joint_pain.models import JointPainCheckIn
from backend.models import AuditEvent, SyncTombstone
from tests.conftest import World
from tests.exercise.factories import set_zone
from tests.joint_pain.factories import make_check_in

NOW = datetime(2026, 4, 15, 12, tzinfo=UTC)  # Wednesday of 2026-W16 (Monday 13 April)
THIS_MONDAY = date(2026, 4, 13)
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def url(patient: Patient, tail: str = "") -> str:
    return f"/api/v1/patients/{patient.id}/check-ins/{tail}"


def body(**extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "answered_at": (NOW - timedelta(hours=2)).isoformat(),
        "worst_pain": 3,
        "stiffness": 2,
        "interfered": False,
        "ai_impact": "none",
        **extra,
    }


def fields(response) -> dict[str, list[str]]:
    data = response.json()
    assert set(data) == {"error"} and data["error"]["code"] in ("invalid", "conflict"), data
    return data["error"]["fields"]


# --- recording -----------------------------------------------------------------------------------------------------
def test_she_records_her_check_in_and_a_repost_is_a_replay(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    sent = body(worst_pain=5, stiffness=6, interfered=True)
    first = client.post(url(world.ann), sent, format="json")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["id"] == sent["id"] and data["week_of"] == "2026-04-13" and data["replaced"] is None
    assert (data["worst_pain"], data["stiffness"], data["interfered"], data["ai_impact"]) == (5, 6, True, "none")
    assert data["recorded_by"] == str(world.ann.user.id)
    again = client.post(url(world.ann), sent, format="json")
    assert again.status_code == 200 and again.json()["id"] == sent["id"] and again.json()["replaced"] is None
    assert JointPainCheckIn.objects.count() == 1


def test_the_same_id_with_other_values_is_a_409_naming_them(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    sent = body()
    assert client.post(url(world.ann), sent, format="json").status_code == 201
    conflict = client.post(url(world.ann), {**sent, "worst_pain": 7}, format="json")
    assert conflict.status_code == 409
    assert set(fields(conflict)) == {"worst_pain"}
    assert JointPainCheckIn.objects.get().worst_pain == 3


def test_a_replay_that_leaves_out_the_default_is_still_a_replay(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    sent = body()
    assert client.post(url(world.ann), sent, format="json").status_code == 201
    without = {k: v for k, v in sent.items() if k != "ai_impact"}
    assert client.post(url(world.ann), without, format="json").status_code == 200


def test_a_second_check_in_of_the_week_replaces_the_first(world: World, client_for) -> None:
    client = client_for(world.ann.user)
    first = body(worst_pain=2, answered_at=(NOW - timedelta(days=2)).isoformat())  # Monday
    second = body(worst_pain=6)
    assert client.post(url(world.ann), first, format="json").status_code == 201
    response = client.post(url(world.ann), second, format="json")
    assert response.status_code == 201
    assert response.json()["replaced"] == first["id"] and response.json()["week_of"] == "2026-04-13"
    assert list(JointPainCheckIn.objects.values_list("id", flat=True)) == [uuid.UUID(second["id"])]
    # The first reaches her app as a delete.
    assert SyncTombstone.objects.filter(row_id=first["id"], table_name="joint_pain_jointpaincheckin").exists()
    # A retry of the first cannot bring it back over what she answered since.
    retry = client.post(url(world.ann), first, format="json")
    assert retry.status_code == 409 and set(fields(retry)) == {"id"}
    assert list(JointPainCheckIn.objects.values_list("id", flat=True)) == [uuid.UUID(second["id"])]
    # The replacing check-in itself, posted again, is a plain replay.
    assert client.post(url(world.ann), second, format="json").json()["replaced"] is None


def test_an_older_answer_of_the_week_arriving_later_does_not_replace_the_newer(world: World, client_for) -> None:
    """Review: her Wednesday answer (taken by phone by her coordinator) is recorded; her phone then syncs Monday's
    offline answer. The newer answer stands; the older is refused whole (400), naming the time of the newer."""
    newer = body(worst_pain=3)
    assert client_for(world.cora).post(url(world.ann), newer, format="json").status_code == 201
    older = body(worst_pain=7, ai_impact="missed", answered_at=(NOW - timedelta(days=2)).isoformat())
    refused = client_for(world.ann.user).post(url(world.ann), older, format="json")
    assert refused.status_code == 400
    assert "A later answer of this week is recorded" in fields(refused)["answered_at"][0]
    assert list(JointPainCheckIn.objects.values_list("id", "worst_pain")) == [(uuid.UUID(newer["id"]), 3)]


@pytest.mark.parametrize(
    ("first", "first_week", "second", "replaced"),
    [
        # Sunday 23:30 and Monday 00:30 in New York (both Monday in UTC): two weeks of hers, nothing replaced.
        (
            datetime(2026, 4, 12, 23, 30, tzinfo=NEW_YORK),
            "2026-04-06",
            datetime(2026, 4, 13, 0, 30, tzinfo=NEW_YORK),
            False,
        ),
        # Monday 00:30 and Tuesday in New York: one week of hers, replaced.
        (
            datetime(2026, 4, 13, 0, 30, tzinfo=NEW_YORK),
            "2026-04-13",
            datetime(2026, 4, 14, 9, 0, tzinfo=NEW_YORK),
            True,
        ),
    ],
    ids=["sunday-then-monday", "monday-then-tuesday"],
)
def test_the_week_is_her_local_iso_week(world: World, client_for, first, first_week, second, replaced) -> None:
    set_zone(world.ann, "America/New_York")
    client = client_for(world.ann.user)
    a, b = body(answered_at=first.isoformat()), body(answered_at=second.isoformat())
    assert client.post(url(world.ann), a, format="json").json()["week_of"] == first_week
    response = client.post(url(world.ann), b, format="json").json()
    assert response["week_of"] == "2026-04-13"
    assert (response["replaced"] == a["id"]) is replaced
    expected = ["2026-04-13"] if replaced else ["2026-04-13", "2026-04-06"]
    assert [row["week_of"] for row in client.get(url(world.ann)).json()["results"]] == expected


def test_sunday_night_in_new_york_is_the_week_before(world: World, client_for) -> None:
    set_zone(world.ann, "America/New_York")
    sunday_night = datetime(2026, 4, 12, 23, 30, tzinfo=NEW_YORK)  # Monday 03:30 in UTC
    response = client_for(world.ann.user).post(
        url(world.ann), body(answered_at=sunday_night.isoformat()), format="json"
    )
    assert response.json()["week_of"] == "2026-04-06"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"worst_pain": 11}, "worst_pain"),
        ({"worst_pain": -1}, "worst_pain"),
        ({"worst_pain": "4"}, "worst_pain"),
        ({"worst_pain": 4.5}, "worst_pain"),
        ({"worst_pain": True}, "worst_pain"),
        ({"worst_pain": None}, "worst_pain"),
        ({"stiffness": 11}, "stiffness"),
        ({"interfered": "yes"}, "interfered"),
        ({"interfered": 1}, "interfered"),
        ({"ai_impact": "sometimes"}, "ai_impact"),
        ({"answered_at": (NOW + timedelta(hours=1)).isoformat()}, "answered_at"),
        ({"answered_at": (NOW - timedelta(days=401)).isoformat()}, "answered_at"),
        ({"answered_at": "2026-04-15T10:00:00"}, "answered_at"),
        ({"id": "not-a-uuid"}, "id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(world: World, client_for, change, field) -> None:
    response = client_for(world.ann.user).post(url(world.ann), body(**change), format="json")
    assert response.status_code == 400, response.content
    assert field in fields(response)
    assert JointPainCheckIn.objects.count() == 0


@pytest.mark.parametrize("missing", ["id", "answered_at", "worst_pain", "stiffness", "interfered"])
def test_each_answer_is_required(world: World, client_for, missing: str) -> None:
    sent = {k: v for k, v in body().items() if k != missing}
    response = client_for(world.ann.user).post(url(world.ann), sent, format="json")
    assert response.status_code == 400 and missing in fields(response)


def test_a_phone_clock_a_little_ahead_is_not_the_future(world: World, client_for) -> None:
    ahead = body(answered_at=(NOW + timedelta(minutes=4)).isoformat())
    assert client_for(world.ann.user).post(url(world.ann), ahead, format="json").status_code == 201


def test_an_id_of_another_patients_check_in_is_refused(world: World, client_for) -> None:
    sent = body()
    assert client_for(world.bea.user).post(url(world.bea), sent, format="json").status_code == 201
    response = client_for(world.ann.user).post(url(world.ann), sent, format="json")
    assert response.status_code == 400 and "id" in fields(response)


# --- who ------------------------------------------------------------------------------------------------------------
def test_her_coordinator_records_one_on_her_behalf_and_a_pharmacist_may_not(world: World, client_for) -> None:
    response = client_for(world.cora).post(url(world.ann), body(), format="json")
    assert response.status_code == 201 and response.json()["recorded_by"] == str(world.cora.id)
    refused = client_for(world.phil).post(url(world.ann), body(answered_at=NOW.isoformat()), format="json")
    assert refused.status_code == 403
    assert JointPainCheckIn.objects.count() == 1


@pytest.mark.parametrize("who", ["ann", "cora", "phil", "admin"])
def test_she_and_staff_in_scope_read_her_check_ins_and_trend(world: World, client_for, who: str) -> None:
    make_check_in(world.ann, NOW - timedelta(hours=1), 5)
    user = world.ann.user if who == "ann" else getattr(world, who)
    client = client_for(user)
    assert client.get(url(world.ann)).json()["count"] == 1
    assert client.get(url(world.ann, "trend/")).status_code == 200


@pytest.mark.parametrize("who", ["bea", "zed", "pia"])
@pytest.mark.parametrize("tail", ["", "trend/"])
def test_out_of_scope_is_404(world: World, client_for, who: str, tail: str) -> None:
    user = world.bea.user if who == "bea" else getattr(world, who)
    client = client_for(user)
    assert client.get(url(world.ann, tail)).status_code == 404
    if not tail:
        assert client.post(url(world.ann), body(), format="json").status_code == 404
    assert JointPainCheckIn.objects.count() == 0


def test_staff_reads_are_audited(world: World, client_for) -> None:
    make_check_in(world.ann, NOW - timedelta(hours=1), 5)
    client = client_for(world.cora)
    client.get(url(world.ann))
    client.get(url(world.ann, "trend/"))
    resources = list(AuditEvent.objects.filter(actor=world.cora, action="read").values_list("resource", flat=True))
    assert set(resources) == {"joint_pain_check_in", "joint_pain_trend"}


# --- the list and the trend -------------------------------------------------------------------------------------
def test_the_list_is_newest_week_first_and_paginated(world: World, client_for) -> None:
    for weeks_ago in (3, 1, 2, 0):
        make_check_in(world.ann, NOW - timedelta(weeks=weeks_ago), weeks_ago)
    data = client_for(world.ann.user).get(url(world.ann)).json()
    assert data["count"] == 4
    assert [row["worst_pain"] for row in data["results"]] == [0, 1, 2, 3]


def test_the_trend_points_oldest_first_with_baseline_threshold_and_episode(world: World, client_for) -> None:
    for weeks_ago, pain in ((4, 1), (3, 2), (2, 3), (1, 5), (0, 2)):
        make_check_in(world.ann, NOW - timedelta(weeks=weeks_ago), pain)
    data = client_for(world.ann.user).get(url(world.ann, "trend/")).json()
    assert [(p["worst_pain"], p["above_threshold"], p["reason"]) for p in data["points"]] == [
        (1, False, None),
        (2, False, None),
        (3, False, None),  # a rise of 1.5 from 1.5: not enough
        (5, True, "worst_pain"),
        (2, False, None),
    ]
    assert data["points"][0]["week_of"] == "2026-03-16" and data["points"][-1]["week_of"] == "2026-04-13"
    assert (data["baseline"], data["threshold"]) == (1.5, 4)
    assert data["episode"] == {"open": True, "since": "2026-04-06", "ended_on": None, "severity": "normal"}


def test_an_empty_trend(world: World, client_for) -> None:
    data = client_for(world.ann.user).get(url(world.ann, "trend/")).json()
    assert data == {"points": [], "baseline": None, "threshold": 4, "episode": None}
