"""A pharmacist's request for changes reaches the coordinators (issue 14, point 8): a worklist item with her note,
the schedule back in her queue with its history once changed, the item resolved when she verifies it."""

from datetime import time

import pytest

from apps.alerts.models import Alert, AlertEvent, AlertState
from apps.medications.models import ReviewDecision, Schedule
from apps.medications.services import schedule_update
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import make_schedule

KIND = "review_changes_requested"


def decide(client, schedule: Schedule, **body: object):
    return client.post(f"/api/v1/reviews/{schedule.id}/", body, format="json")


def worklist(client) -> list[dict]:
    response = client.get("/api/v1/alerts/")
    assert response.status_code == 200, response.content
    return [row for row in response.json()["results"] if row["kind"] == KIND]


def history(client, schedule: Schedule):
    return client.get(f"/api/v1/reviews/{schedule.id}/history/")


def test_request_changes_puts_an_item_with_her_note_on_the_coordinators_worklist(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "alendronate")
    cora = client_for(world.cora)
    assert worklist(cora) == []
    response = decide(client_for(world.phil), schedule, decision="request_changes", note="Take it at 06:30, fasting.")
    assert response.status_code == 201, response.content

    [item] = worklist(cora)
    assert item["patient"] == str(world.ann.id)
    assert item["schedule"] == str(schedule.id)
    assert item["state"] == "open"
    assert "Take it at 06:30, fasting." in item["message"]
    assert "Alendronate" in item["message"]
    # Exactly once: one alert, one "raised" event.
    alert = Alert.objects.get(kind=KIND)
    assert AlertEvent.objects.filter(alert=alert, action="raised").count() == 1
    # Coordinators not assigned to her, and other organisations, do not see it.
    assert worklist(client_for(world.cody)) == []
    assert worklist(client_for(world.zed)) == []


def test_the_item_names_the_rule_of_the_finding_she_saw(world: World, client_for) -> None:
    make_schedule(world.ann, "alendronate")
    denosumab = make_schedule(world.ann, "denosumab")  # two anti-resorptives, no calcium plan: high findings
    decide(client_for(world.phil), denosumab, decision="request_changes", note="Stop one of the two.")
    [item] = worklist(client_for(world.cora))
    decision = ReviewDecision.objects.get(schedule=denosumab)
    assert decision.findings and item["rule"] == decision.findings[0]["rule"]
    assert item["severity"] == "high"


def test_verify_without_a_request_raises_nothing(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "letrozole")
    assert decide(client_for(world.phil), schedule, decision="verify").status_code == 201
    assert not Alert.objects.filter(kind=KIND).exists()


def test_the_loop_change_back_to_queue_with_history_then_verified_resolves(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "alendronate")
    phil, cora = client_for(world.phil), client_for(world.cora)
    decide(phil, schedule, decision="request_changes", note="Move it to 06:30.")
    schedule.refresh_from_db()
    assert schedule.review_status == "changes_requested"
    assert str(schedule.id) not in {r["id"] for r in phil.get("/api/v1/reviews/").json()["results"]}

    # The coordinator changes the schedule: back in the pharmacist's queue, with what she said before.
    schedule_update(actor=world.cora, schedule=schedule, local_time=time(6, 30))
    [row] = [r for r in phil.get("/api/v1/reviews/").json()["results"] if r["id"] == str(schedule.id)]
    assert [(d["decision"], d["note"]) for d in row["decisions"]] == [("request_changes", "Move it to 06:30.")]
    [item] = worklist(cora)  # still waiting for her verification
    assert item["state"] == "open"

    # Asked again: the newer request replaces the older item (one open item, with the latest note).
    decide(phil, schedule, decision="request_changes", note="And take it with plain water only.")
    open_items = worklist(cora)
    assert [i["message"].endswith("And take it with plain water only.") for i in open_items] == [True]
    assert Alert.objects.filter(kind=KIND, state=AlertState.RESOLVED).count() == 1

    schedule_update(actor=world.cora, schedule=schedule, dose="70 mg with water")
    assert decide(phil, schedule, decision="verify", note="").status_code == 201
    assert worklist(cora) == []  # resolved: off her worklist
    assert Alert.objects.filter(kind=KIND).exclude(state=AlertState.RESOLVED).count() == 0
    resolved = Alert.objects.filter(kind=KIND).order_by("-raised_at").first()
    assert resolved is not None and "verified" in resolved.resolution_note

    rows = history(cora, schedule).json()
    assert [(r["decision"], r["note"]) for r in rows] == [
        ("verify", ""),
        ("request_changes", "And take it with plain water only."),
        ("request_changes", "Move it to 06:30."),
    ]
    assert {r["reviewer"] for r in rows} == {str(world.phil.id)}
    assert {r["reviewer_name"] for r in rows} == {world.phil.full_name or world.phil.email}
    assert all(r["created_at"] for r in rows)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("phil", 200),
        ("cora", 200),
        ("admin", 200),
        ("cody", 404),
        ("zed", 404),
        ("pia", 404),
        ("ann", 403),
        ("bea", 404),
    ],
)
def test_history_is_scoped(world: World, client_for, who: str, status: int) -> None:
    schedule = make_schedule(world.ann, "alendronate")
    decide(client_for(world.phil), schedule, decision="request_changes", note="Check the dose.")
    actor = getattr(world, who)
    actor = getattr(actor, "user", actor)
    response = history(client_for(actor), schedule)
    assert response.status_code == status, response.content
    if status == 200:
        assert [r["note"] for r in response.json()] == ["Check the dose."]
        assert AuditEvent.objects.filter(resource="review_history", patient_id=world.ann.id, actor=actor).exists()
    if status == 404:
        assert response.json()["error"]["code"] == "not_found"
