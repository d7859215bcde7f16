"""DOMAIN J3 alerts and the J4 self-help notice, through the API as the app posts: 3 vs 4 points, a rise of 1 vs 2
from her baseline, once per episode (three weeks at 6: one alert), the episode's end after two check-ins below (one
is not enough), high on missing or stopping the AI (and the escalation of the open alert), a late backlog."""

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from apps.alerts.models import Alert, AlertEvent, AlertState, Notice
from apps.alerts.services import alert_resolve
from tests.conftest import World
from tests.exercise.factories import make_exercise_plan

START = datetime(2026, 3, 4, 12, tzinfo=UTC)  # a Wednesday; her zone is London (UTC in March before the 29th)
RULE_ID = re.compile(r"\b[ACDEHJPTZM][0-9]\b")


@pytest.fixture
def weekly(world: World, client_for) -> Iterator[Any]:
    """Call with the worst-pain scores of consecutive weeks (or (score, ai_impact)); each is posted by Ann in its
    week, the clock moving with her."""
    client = client_for(world.ann.user)
    state = {"week": 0}

    def post(*scores: int | tuple[int, str]) -> list[dict[str, Any]]:
        answers = []
        for score in scores:
            worst, impact = score if isinstance(score, tuple) else (score, "none")
            at = START + timedelta(weeks=state["week"])
            state["week"] += 1
            with time_machine.travel(at, tick=False):
                response = client.post(
                    f"/api/v1/patients/{world.ann.id}/check-ins/",
                    {
                        "id": str(uuid.uuid4()),
                        "answered_at": at.isoformat(),
                        "worst_pain": worst,
                        "stiffness": 3,
                        "interfered": worst >= 6,
                        "ai_impact": impact,
                    },
                    format="json",
                )
            assert response.status_code == 201, response.content
            answers.append(response.json())
        return answers

    with time_machine.travel(START, tick=False):
        yield post


def alerts(world: World) -> list[Alert]:
    return list(Alert.objects.filter(patient=world.ann, kind="joint_pain").order_by("raised_at", "episode"))


def notices(world: World) -> list[Notice]:
    return list(Notice.objects.filter(patient=world.ann, kind="joint_pain_self_help"))


def test_worst_pain_3_raises_nothing_and_4_alerts_her_coordinator(world: World, weekly, client_for) -> None:
    weekly(3)
    assert alerts(world) == [] and notices(world) == []
    weekly(4)
    (alert,) = alerts(world)
    assert (alert.severity, alert.rule, alert.state, alert.episode) == ("normal", "J3", "open", "2026-03-09")
    assert alert.message == "Joint-pain check-in: worst joint pain 4/10 in the week of 9 March 2026 (threshold 4)."
    assert not RULE_ID.search(alert.message)  # the rule id is the alert's `rule`, linked beside it
    # Her coordinator sees it in the worklist.
    rows = client_for(world.cora).get("/api/v1/alerts/").json()["results"]
    assert [(row["kind"], row["severity"]) for row in rows] == [("joint_pain", "normal")]


def test_a_rise_of_1_from_baseline_raises_nothing_and_2_alerts(world: World, weekly) -> None:
    weekly(1, 1, 2)  # baseline 1: a rise of 1
    assert alerts(world) == []
    weekly(3)  # a rise of 2, below the threshold of 4
    (alert,) = alerts(world)
    assert "3/10" in alert.message and "2 points above her baseline of 1" in alert.message and alert.rule == "J3"
    assert notices(world) == []  # the self-help notice follows a score of 4 or more, not a rise alone


def test_three_weekly_check_ins_at_6_are_one_alert_and_one_notice(world: World, weekly) -> None:
    weekly(6, 6, 6)
    assert len(alerts(world)) == 1 and len(notices(world)) == 1
    # Raised once, at the check-in that opened the episode; the repeats are in her trend, not new alerts.
    assert alerts(world)[0].message == (
        "Joint-pain check-in: worst joint pain 6/10 in the week of 2 March 2026 (threshold 4)."
    )


def test_one_check_in_below_does_not_end_the_episode_two_do(world: World, weekly) -> None:
    weekly(6, 2)
    (alert,) = alerts(world)
    assert alert.state == AlertState.OPEN
    weekly(2)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.resolved_by is None
    assert alert.resolution_note.startswith("Resolved automatically (J3): two check-ins in a row below threshold")
    assert "2/10 (week of 9 March 2026) and 2/10 (week of 16 March 2026)" in alert.resolution_note
    assert list(alert.events.values_list("action", flat=True)) == ["raised", "resolved"]


def test_a_new_episode_after_the_end_is_a_new_alert_and_notice(world: World, weekly) -> None:
    weekly(6, 2, 2, 5)
    assert [(a.episode, a.state) for a in alerts(world)] == [("2026-03-02", "resolved"), ("2026-03-23", "open")]
    assert sorted(n.episode for n in notices(world)) == ["2026-03-02", "2026-03-23"]


def test_missing_the_ai_because_of_pain_is_high_from_the_start(world: World, weekly) -> None:
    weekly((2, "missed"))
    (alert,) = alerts(world)
    assert alert.severity == "high"
    assert "she missed doses of her aromatase inhibitor because of joint pain" in alert.message
    assert notices(world) == []  # worst pain 2: no self-help notice


def test_an_open_episode_turning_high_escalates_its_alert(world: World, weekly) -> None:
    weekly(6, 6, (7, "stopped"), (7, "stopped"))
    (alert,) = alerts(world)
    assert alert.severity == "high" and alert.severity_rank == 3 and alert.state == AlertState.OPEN
    assert "she stopped her aromatase inhibitor because of joint pain" in alert.message
    escalations = list(alert.events.filter(action=AlertEvent.Action.ESCALATED).values_list("note", flat=True))
    assert len(escalations) == 1
    assert escalations[0].startswith("Escalated to high (J3): worst joint pain 7/10 in the week of 16 March 2026")


def test_a_resolved_alert_is_not_raised_again_in_its_episode_unless_it_turns_high(world: World, weekly) -> None:
    weekly(6)
    (alert,) = alerts(world)
    with time_machine.travel(START, tick=False):
        alert_resolve(alert=alert, actor=world.cora, note="Called her: pain tablets, follows up at clinic.")
    weekly(6, 7)
    assert len(alerts(world)) == 1  # once per episode, even after staff closed it
    weekly((7, "missed"))
    assert [(a.severity, a.state, a.episode) for a in alerts(world)] == [
        ("normal", "resolved", "2026-03-02"),
        ("high", "open", "2026-03-02:high"),
    ]
    weekly((8, "stopped"))
    assert len(alerts(world)) == 2


def test_the_notice_is_plain_names_her_targets_and_no_rule_ids(world: World, weekly, client_for) -> None:
    with time_machine.travel(START, tick=False):
        make_exercise_plan(world.ann, actor=world.cora, weight_bearing_minutes_target=120, resistance_days_target=3)
    weekly(5)
    (notice,) = notices(world)
    assert notice.title == "Joint pain: what can help"
    assert "120 minutes a week of weight-bearing activity" in notice.body and "3 times a week" in notice.body
    assert "tell your care team before deciding anything" in notice.body
    assert not RULE_ID.search(notice.title + notice.body)
    # She reads it in her notices.
    rows = client_for(world.ann.user).get(f"/api/v1/patients/{world.ann.id}/notices/").json()
    kinds = [row["kind"] for row in rows.get("results", rows)]
    assert "joint_pain_self_help" in kinds


def test_the_default_targets_are_150_minutes_and_twice_a_week(world: World, weekly) -> None:
    weekly(4)
    body = notices(world)[0].body
    assert "150 minutes a week" in body and "strength training twice a week" in body


def test_replacing_the_weeks_check_in_with_a_lower_score_resolves_the_alert(world: World, weekly, client_for) -> None:
    (answer,) = weekly(6)
    (alert,) = alerts(world)
    with time_machine.travel(START + timedelta(hours=3), tick=False):
        response = client_for(world.ann.user).post(
            f"/api/v1/patients/{world.ann.id}/check-ins/",
            {
                "id": str(uuid.uuid4()),
                "answered_at": (START + timedelta(hours=2)).isoformat(),
                "worst_pain": 2,
                "stiffness": 1,
                "interfered": False,
            },
            format="json",
        )
    assert response.json()["replaced"] == answer["id"]
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and "replaced" in alert.resolution_note


def test_the_rulebook_carries_the_notice_text_word_for_word() -> None:
    from pathlib import Path

    from django.conf import settings

    from apps.alerts.joint_pain import NOTICE_TITLE, self_help_body

    text = " ".join((Path(settings.BASE_DIR) / "docs" / "clinical-rules.md").read_text(encoding="utf-8").split())
    assert f'Title: "{NOTICE_TITLE}"' in text
    assert f'Body: "{self_help_body(150, 2)}"' in text


def test_a_late_check_in_followed_by_two_below_in_her_history_raises_nothing(world: World, client_for) -> None:
    """Placed in its week: a high score answered offline three weeks ago, already followed by two check-ins below,
    opens and closes its episode in the past; no alert, no notice."""
    from tests.joint_pain.factories import make_check_in

    now = START + timedelta(weeks=4)
    with time_machine.travel(now, tick=False):
        for weeks_ago in (4, 3, 1, 0):
            make_check_in(world.ann, now - timedelta(weeks=weeks_ago), 1)
        late = now - timedelta(weeks=2)
        response = client_for(world.ann.user).post(
            f"/api/v1/patients/{world.ann.id}/check-ins/",
            {
                "id": str(uuid.uuid4()),
                "answered_at": late.isoformat(),
                "worst_pain": 8,
                "stiffness": 5,
                "interfered": True,
            },
            format="json",
        )
        assert response.status_code == 201
        trend = client_for(world.cora).get(f"/api/v1/patients/{world.ann.id}/check-ins/trend/").json()
    assert alerts(world) == [] and notices(world) == []
    assert trend["episode"] == {"open": False, "since": "2026-03-16", "ended_on": "2026-03-30", "severity": "normal"}


def _post(client: Any, world: World, at: datetime, worst: int, impact: str = "none") -> dict[str, Any]:
    with time_machine.travel(at + timedelta(minutes=5), tick=False):
        response = client.post(
            f"/api/v1/patients/{world.ann.id}/check-ins/",
            {
                "id": str(uuid.uuid4()),
                "answered_at": at.isoformat(),
                "worst_pain": worst,
                "stiffness": 3,
                "interfered": False,
                "ai_impact": impact,
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_an_episode_opened_again_after_its_end_resolved_the_alert_alerts_again(
    world: World, weekly, client_for
) -> None:
    """Review: two weeks below ended the episode and resolved its alert; she then re-answers the second of them
    with 7 the same week, so the episode is open again: that stretch is news, raised once (not silenced by the alert
    the episode's end resolved)."""
    weekly(5, 1, 1)
    (first,) = alerts(world)
    assert first.state == AlertState.RESOLVED and first.resolved_by is None
    client = client_for(world.ann.user)
    _post(client, world, START + timedelta(weeks=2, days=1), 7)  # Thursday of the third week: replaces its 1
    assert [(a.state, a.episode) for a in alerts(world)] == [
        ("resolved", "2026-03-02"),
        ("open", "2026-03-02@2026-03-16"),
    ]
    weekly(7)  # the episode goes on: no repeat
    assert len(alerts(world)) == 2


def test_a_pushed_backlog_whose_episode_ended_still_alerts_when_she_stopped_the_ai(world: World, client_for) -> None:
    """Review: weeks answered offline (8 and she stopped the AI because of pain, then 2 and 2) arrive together; the
    pain episode is over, but her stopping the cancer treatment is not: one high alert, not resolved on its own."""
    from tests.joint_pain.factories import make_check_in

    now = START + timedelta(weeks=4)
    with time_machine.travel(now, tick=False):
        for weeks_ago in (4, 3, 1, 0):
            make_check_in(world.ann, now - timedelta(weeks=weeks_ago), 1)
        _post(client_for(world.ann.user), world, now - timedelta(weeks=2), 8, "stopped")
    (alert,) = alerts(world)
    assert (alert.severity, alert.state, alert.episode) == ("high", "open", "2026-03-16")
    assert "she stopped her aromatase inhibitor because of joint pain" in alert.message
    assert "has since ended" in alert.message


def test_a_high_alert_nobody_has_seen_stays_when_the_pain_eases(world: World, weekly) -> None:
    """Review: she missed the AI because of pain, then two weeks below: the pain episode ends, but an unseen high
    alert stays on the worklist; one a coordinator acknowledged is resolved as usual."""
    weekly((6, "missed"), 2, 2)
    (alert,) = alerts(world)
    assert (alert.severity, alert.state) == ("high", AlertState.OPEN)


def test_an_acknowledged_high_alert_is_resolved_at_the_episodes_end(world: World, weekly) -> None:
    from apps.alerts.services import alert_acknowledge

    weekly((6, "missed"))
    (alert,) = alerts(world)
    with time_machine.travel(START, tick=False):
        alert_acknowledge(alert=alert, actor=world.cora, note="Called her.")
    weekly(2, 2)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
