"""What one account may ask of sync (issue 12): at most SYNC_MAX_PUSH_RECORDS records in one push (413 before any
record is read, nothing written), and a per-account rate for pulls and for pushes (429 with Retry-After)."""

import uuid
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.exercise.models import ExerciseSession
from apps.supplements.models import SupplementIntake
from backend.throttles import ResilientScopedRateThrottle
from tests.backend.test_errors import assert_error
from tests.conftest import World
from tests.factories import make_schedule
from tests.supplements.factories import make_plan
from tests.sync.conftest import App, table_changes
from tests.sync.test_push import dose, intake, ms, session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ann_app(world: World, app_for) -> App:
    app: App = app_for(world.ann)
    return app


@override_settings(SYNC_MAX_PUSH_RECORDS=4)
def test_a_push_of_the_maximum_is_applied_and_one_record_more_is_413_with_nothing_written(
    world: World, ann_app: App
) -> None:
    schedule = make_schedule(world.ann)
    ann_app.pull()
    # Counted over every table and operation: 2 sessions + 1 dose + 1 deleted id = 4, the maximum.
    at_limit = table_changes(
        exercise_sessions={"created": [session(), session()], "deleted": [str(uuid.uuid4())]},
        dose_records={"created": [dose(schedule)]},
    )
    ann_app.push(at_limit)
    assert ExerciseSession.objects.filter(patient=world.ann).count() == 2

    ann_app.pull()
    over = table_changes(
        exercise_sessions={"created": [session(), session(), session()], "updated": []},
        dose_records={"created": [dose(schedule)], "deleted": [str(uuid.uuid4())]},
    )
    response = ann_app.client.post(
        f"/api/v1/sync/?last_pulled_at={ann_app.last_pulled_at}", {"changes": over}, format="json"
    )
    error = assert_error(response, 413, "too_large")
    assert "5 records" in error["message"] and "at most 4" in error["message"]
    assert ExerciseSession.objects.filter(patient=world.ann).count() == 2  # nothing of it applied


@override_settings(SYNC_MAX_PUSH_RECORDS=2)
def test_the_size_is_checked_before_any_record_is_read(world: World, ann_app: App) -> None:
    """Three malformed records: refused for their number (413), not read one by one (400 naming each)."""
    ann_app.pull()
    body = {"changes": {"exercise_sessions": {"created": [{"id": "x"}, {"id": "y"}, {"id": "z"}]}}}
    response = ann_app.client.post(f"/api/v1/sync/?last_pulled_at={ann_app.last_pulled_at}", body, format="json")
    assert_error(response, 413, "too_large")


def test_the_default_maximum_is_the_documented_2500(settings) -> None:
    assert settings.SYNC_MAX_PUSH_RECORDS == 2_500


def test_pushes_past_the_accounts_rate_are_429_with_retry_after(
    world: World, ann_app: App, app_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ResilientScopedRateThrottle.THROTTLE_RATES, "sync_push", "2/minute")
    ann_app.pull()
    ann_app.push(table_changes(exercise_sessions={"created": [session()]}))
    ann_app.push(table_changes(exercise_sessions={"created": [session()]}))
    response = ann_app.client.post(
        f"/api/v1/sync/?last_pulled_at={ann_app.last_pulled_at}",
        {"changes": table_changes(exercise_sessions={"created": [session()]})},
        format="json",
    )
    assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    assert ExerciseSession.objects.filter(patient=world.ann).count() == 2
    ann_app.pull()  # pulls are counted apart
    other: App = app_for(world.bea)  # and per account: another patient syncs as usual
    other.pull()
    other.push(table_changes(exercise_sessions={"created": [session()]}))


def test_pulls_past_the_accounts_rate_are_429(world: World, ann_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ResilientScopedRateThrottle.THROTTLE_RATES, "sync_pull", "3/minute")
    for _ in range(3):
        ann_app.pull()
    response = ann_app.client.get("/api/v1/sync/", {"last_pulled_at": str(ann_app.last_pulled_at)})
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_a_backlog_of_sessions_is_recorded_by_the_same_rules_in_one_go(world: World, ann_app: App) -> None:
    """The push inserts a backlog of new sessions at once: each still checked by the REST rules (refused per record
    with its reason), an id already used by another patient still refused, and a replay still creates nothing twice."""
    ann_app.pull()
    theirs = ExerciseSession.objects.create(
        id=uuid.uuid4(),
        patient=world.bea,
        kind="balance",
        minutes=10,
        performed_at=timezone.now() - timedelta(days=1),
        performed_on=date.today(),
    )
    good = [session() for _ in range(5)]
    zero, taken = session(minutes=0), session(id=str(theirs.id))
    changes = table_changes(exercise_sessions={"created": [*good, zero, taken]})
    body = ann_app.push(changes)
    assert set(body["experimentalRejectedIds"]["exercise_sessions"]) == {zero["id"], taken["id"]}
    assert "minutes" in body["rejected"]["exercise_sessions"][zero["id"]]
    assert "already used" in body["rejected"]["exercise_sessions"][taken["id"]]
    mine = ExerciseSession.objects.filter(patient=world.ann)
    assert {str(s.id) for s in mine} == {s["id"] for s in good}
    assert {s.performed_on for s in mine} and all(s.recorded_by_id == world.ann.user_id for s in mine)
    ann_app.push(changes, last_pulled_at=ann_app.last_pulled_at)  # the answer was lost: the app sends it again
    assert mine.count() == 5
    assert ExerciseSession.objects.get(pk=theirs.pk).patient_id == world.bea.pk


def test_a_backlog_of_intakes_is_recorded_by_the_same_rules_in_one_go(world: World, ann_app: App) -> None:
    plan = make_plan(world.ann)
    ann_app.pull()
    good = [intake(plan_id=str(plan.id), supplement="", amount=float(plan.amount), unit=plan.unit) for _ in range(3)]
    unknown_plan, too_much = intake(plan_id=str(uuid.uuid4())), intake(amount=50_000)
    changes = table_changes(supplement_intakes={"created": [*good, unknown_plan, too_much]})
    body = ann_app.push(changes)
    assert set(body["rejected"]["supplement_intakes"]) == {unknown_plan["id"], too_much["id"]}
    assert "plan_id" in body["rejected"]["supplement_intakes"][unknown_plan["id"]]
    assert "amount" in body["rejected"]["supplement_intakes"][too_much["id"]]
    stored = SupplementIntake.objects.filter(patient=world.ann)
    assert {str(i.id) for i in stored} == {i["id"] for i in good}
    assert {(i.supplement, i.amount, i.unit) for i in stored} == {(plan.supplement, plan.amount, plan.unit)}
    ann_app.push(changes, last_pulled_at=ann_app.last_pulled_at)  # replayed: nothing twice
    assert stored.count() == 3


def test_the_queries_of_a_backlog_of_intakes_do_not_grow_with_it(world: World, ann_app: App) -> None:
    plan = make_plan(world.ann)
    ann_app.pull()
    ann_app.push(table_changes())  # her first push confirms the device's cursor (once): not part of the count
    counts = []
    for n in (5, 60):
        backlog = [
            intake(plan_id=str(plan.id), supplement="", taken_at=ms(timezone.now() - timedelta(hours=k + 1)))
            for k in range(n)
        ]
        with CaptureQueriesContext(connection) as queries:
            assert ann_app.push(table_changes(supplement_intakes={"created": backlog})) == {}
        counts.append(len(queries.captured_queries))
    assert SupplementIntake.objects.filter(patient=world.ann).count() == 65
    assert counts[0] == counts[1]
