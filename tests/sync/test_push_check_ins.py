"""The synced table joint_pain_check_ins: her app creates check-ins offline; the server computes the week; a second
check-in of a week replaces the first (her devices receive its delete); the app never updates or deletes one (a
changed answer is a new check-in); bad answers are rejected per record; a pushed backlog is judged once (DOMAIN J3)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from apps.alerts.models import Alert
from apps.joint_pain.models import JointPainCheckIn
from tests.conftest import World
from tests.joint_pain.factories import make_check_in
from tests.sync.conftest import ids, table_changes

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 4, 15, 12, tzinfo=UTC)  # Wednesday; week of Monday 13 April


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def check_in(at: datetime = NOW - timedelta(hours=1), **values: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "answered_at": ms(at),
        "week_of": None,  # the server computes it; the app's placeholder is ignored
        "worst_pain": 3,
        "stiffness": 2,
        "interfered": False,
        "ai_impact": "none",
        **values,
    }


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_a_check_in_made_offline_is_recorded_and_reaches_her_other_device(world: World, app_for) -> None:
    phone, tablet = app_for(world.ann), app_for(world.ann)
    phone.pull()
    tablet.pull()
    record = check_in(worst_pain=6)
    assert phone.push(table_changes(joint_pain_check_ins={"created": [record]})) == {}
    stored = JointPainCheckIn.objects.get()
    assert (str(stored.id), stored.worst_pain, stored.week_of.isoformat()) == (record["id"], 6, "2026-04-13")
    assert stored.recorded_by == world.ann.user
    rows = tablet.pull()["changes"]["joint_pain_check_ins"]["created"]
    assert [(r["id"], r["week_of"], r["worst_pain"]) for r in rows] == [(record["id"], "2026-04-13", 6)]
    # As a REST post does: the alert follows.
    assert Alert.objects.filter(patient=world.ann, kind="joint_pain").count() == 1
    # The same push again changes nothing.
    phone.push(table_changes(joint_pain_check_ins={"created": [record]}))
    assert JointPainCheckIn.objects.count() == 1


def test_a_second_check_in_of_the_week_replaces_the_first_and_her_devices_get_the_delete(world: World, app_for) -> None:
    phone, tablet = app_for(world.ann), app_for(world.ann)
    first = check_in(NOW - timedelta(days=2), worst_pain=2)
    phone.pull()
    phone.push(table_changes(joint_pain_check_ins={"created": [first]}))
    tablet.pull()
    phone.pull()
    second = check_in(worst_pain=5)
    assert phone.push(table_changes(joint_pain_check_ins={"created": [second]})) == {}
    assert list(JointPainCheckIn.objects.values_list("id", flat=True)) == [uuid.UUID(second["id"])]
    body = tablet.pull()
    assert ids(body, "joint_pain_check_ins", "deleted") == {first["id"]}
    assert ids(body, "joint_pain_check_ins", "created") == {second["id"]}
    assert ids(phone.pull(), "joint_pain_check_ins", "deleted") == {first["id"]}


def test_the_app_may_not_update_or_delete_a_check_in(world: World, app_for) -> None:
    phone = app_for(world.ann)
    stored = make_check_in(world.ann, NOW - timedelta(hours=3), 3)
    row = next(r for r in phone.pull()["changes"]["joint_pain_check_ins"]["created"] if r["id"] == str(stored.id))
    body = phone.push(table_changes(joint_pain_check_ins={"updated": [{**row, "worst_pain": 8}]}))
    assert body["experimentalRejectedIds"] == {"joint_pain_check_ins": [str(stored.id)]}
    assert "worst_pain" in body["rejected"]["joint_pain_check_ins"][str(stored.id)]
    body = phone.push(table_changes(joint_pain_check_ins={"deleted": [str(stored.id)]}))
    assert body["experimentalRejectedIds"] == {"joint_pain_check_ins": [str(stored.id)]}
    stored.refresh_from_db()
    assert stored.worst_pain == 3


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"worst_pain": 11}, "worst_pain"),
        ({"stiffness": -1}, "stiffness"),
        ({"ai_impact": "sometimes"}, "ai_impact"),
        ({"answered_at": ms(NOW + timedelta(days=1))}, "answered_at"),
    ],
)
def test_a_bad_answer_is_rejected_per_record_and_the_rest_applied(world: World, app_for, values, field) -> None:
    phone = app_for(world.ann)
    phone.pull()
    bad, good = check_in(**values), check_in(NOW - timedelta(days=8))
    body = phone.push(table_changes(joint_pain_check_ins={"created": [bad, good]}))
    assert body["experimentalRejectedIds"] == {"joint_pain_check_ins": [bad["id"]]}
    assert field in body["rejected"]["joint_pain_check_ins"][bad["id"]]
    assert list(JointPainCheckIn.objects.values_list("id", flat=True)) == [uuid.UUID(good["id"])]


def test_a_missing_answer_or_a_wrong_type_refuses_the_whole_push(world: World, app_for) -> None:
    phone = app_for(world.ann)
    phone.pull()
    for bad in ({"worst_pain": None}, {"interfered": "yes"}, {"stiffness": "2"}):
        body = phone.push(table_changes(joint_pain_check_ins={"created": [check_in(**bad), check_in()]}), expect=400)
        (field,) = bad
        assert list(body["error"]["fields"]) == [f"joint_pain_check_ins.created.0.{field}"]
    assert not JointPainCheckIn.objects.exists()


def test_a_backlog_whose_episode_began_and_ended_offline_raises_nothing(world: World, app_for) -> None:
    for weeks_ago in (6, 5):
        make_check_in(world.ann, NOW - timedelta(weeks=weeks_ago), 1)
    phone = app_for(world.ann)
    phone.pull()
    backlog = [check_in(NOW - timedelta(weeks=w), worst_pain=p) for w, p in ((4, 7), (3, 1), (2, 1))]
    assert phone.push(table_changes(joint_pain_check_ins={"created": backlog})) == {}
    assert JointPainCheckIn.objects.count() == 5
    assert not Alert.objects.filter(patient=world.ann, kind="joint_pain").exists()


def test_a_backlog_whose_episode_is_still_open_alerts_once(world: World, app_for) -> None:
    phone = app_for(world.ann)
    phone.pull()
    backlog = [check_in(NOW - timedelta(weeks=w), worst_pain=p) for w, p in ((2, 7), (1, 6), (0, 2))]
    phone.push(table_changes(joint_pain_check_ins={"created": backlog}))
    (alert,) = Alert.objects.filter(patient=world.ann, kind="joint_pain")
    assert alert.episode == "2026-03-30" and alert.state == "open"
