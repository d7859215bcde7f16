"""The care resources through /fhir/R4/ (issue 16, part 1): Flag, Appointment, QuestionnaireResponse, CarePlan and
DetectedIssue read and searched like the other types, scoped per role, paged, in constant queries, advertised."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.alerts.models import Alert
from apps.alerts.services import alert_raise, alert_resolve
from apps.appointments.services import appointment_cancel
from apps.exercise.models import ExercisePlan
from apps.exercise.services import exercise_plan_create, exercise_plan_update
from apps.medications.models import ReviewDecision
from apps.medications.services import review_decide
from apps.supplements.services import supplement_plan_create
from backend.models import AuditEvent
from tests.appointments.factories import make_appointment
from tests.conftest import World
from tests.factories import make_schedule
from tests.fhir.conftest import fhir_json, outcome
from tests.fhir.smart_helpers import assertion, form_post, register, signing_key, token_request
from tests.fhir.test_care_resources import r4_problems
from tests.joint_pain.factories import make_check_in

BASE = "/fhir/R4/"
NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
CARE_TYPES = ("Flag", "Appointment", "QuestionnaireResponse", "CarePlan", "DetectedIssue")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def checked(response: Any) -> dict[str, Any]:
    """The body, validated with the R4B models (fhir_json) and the R4 rules they leave unchecked (r4_problems)."""
    assert response.status_code == 200, response.content[:300]
    body = fhir_json(response)
    resources = [e["resource"] for e in body.get("entry", [])] if body["resourceType"] == "Bundle" else [body]
    for resource in resources:
        if resource["resourceType"] != "OperationOutcome":
            assert r4_problems(resource) == [], resource
    return body


def search(client: Any, type_name: str, **params: Any) -> dict[str, Any]:
    return checked(client.get(f"{BASE}{type_name}", params))


def entry_ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


# --- rows ---------------------------------------------------------------------------------------------------------
def staff_of(world: World, patient: Any) -> Any:
    return {world.ann.pk: world.cora, world.bea.pk: world.admin, world.zoe.pk: world.zed}[patient.pk]


def pharmacist_of(world: World, patient: Any) -> Any:
    return world.pia if patient.pk == world.zoe.pk else world.phil


def an_alert(patient: Any, *, raised_at: datetime = NOW) -> Alert:
    alert = alert_raise(
        patient=patient,
        kind="joint_pain",
        severity="high",
        message="Joint pain 6/10 this week",
        episode=f"e-{uuid.uuid4()}",
        rule="J3",
        now=raised_at,
    )
    assert alert is not None
    return alert


FINDINGS = [
    {"code": "renal", "severity": "high", "message": "eGFR 25: below 35", "rule": "A4"},
    {"code": "vitamin_d", "severity": "moderate", "message": "25(OH)D 18 ng/mL", "rule": "C3"},
]


def a_decision(world: World, patient: Any, findings: list[dict[str, str]] | None = None) -> ReviewDecision:
    schedule = make_schedule(patient, "alendronate")
    return review_decide(
        reviewer=pharmacist_of(world, patient),
        schedule=schedule,
        decision="verify",
        note="Nephrologist agrees",
        findings=FINDINGS if findings is None else findings,
    )


def a_supplement_plan(world: World, patient: Any, starts_on: date = date(2026, 4, 1)) -> Any:
    return supplement_plan_create(
        actor=staff_of(world, patient),
        patient=patient,
        supplement="calcium_carbonate",
        amount=Decimal("500"),
        unit="mg",
        times_of_day=[time(8, 0)],
        starts_on=starts_on,
    )


def an_exercise_plan(world: World, patient: Any) -> Any:
    """A new active exercise plan; her previous one is stopped first (she has one active plan at most)."""
    actor = staff_of(world, patient)
    for plan in ExercisePlan.objects.filter(patient=patient, status="active"):
        exercise_plan_update(actor=actor, plan=plan, status="stopped")
    return exercise_plan_create(actor=actor, patient=patient)


def one_of_each(world: World, patient: Any) -> dict[str, set[str]]:
    """One row of every care type for `patient`: {type: the resource ids it gives}."""
    decision = a_decision(world, patient)
    an_alert(patient)
    made = {
        "Appointment": {str(make_appointment(patient, starts_at=NOW + timedelta(days=3)).pk)},
        "QuestionnaireResponse": {str(make_check_in(patient, NOW - timedelta(hours=2), 5).pk)},
        "CarePlan": {
            f"supplement-{a_supplement_plan(world, patient).pk}",
            f"exercise-{an_exercise_plan(world, patient).pk}",
        },
        "DetectedIssue": {f"d-{decision.pk}-0", f"d-{decision.pk}-1"},
    }
    # Ours and those the rows above raised themselves (a schedule awaiting review, for one).
    made["Flag"] = {str(pk) for pk in Alert.objects.filter(patient=patient).values_list("pk", flat=True)}
    return made


# --- read and search, per type ------------------------------------------------------------------------------------
def test_flag_read_search_by_status_and_date(world: World, client_for: Any) -> None:
    old = an_alert(world.ann, raised_at=datetime(2026, 4, 1, 23, 59, 59, tzinfo=UTC))
    new = an_alert(world.ann, raised_at=datetime(2026, 4, 2, 0, 0, tzinfo=UTC))
    alert_resolve(alert=old, actor=world.cora, note="Called her")
    client = client_for(world.cora)
    body = checked(client.get(f"{BASE}Flag/{new.pk}"))
    assert (body["id"], body["status"], body["subject"]) == (
        str(new.pk),
        "active",
        {"reference": f"Patient/{world.ann.pk}"},
    )
    assert entry_ids(search(client, "Flag", status="active")) == [str(new.pk)]
    assert entry_ids(search(client, "Flag", status="http://hl7.org/fhir/flag-status|inactive")) == [str(old.pk)]
    assert entry_ids(search(client, "Flag", date="2026-04-02")) == [str(new.pk)]
    assert entry_ids(search(client, "Flag", date="lt2026-04-02")) == [str(old.pk)]
    assert entry_ids(search(client, "Flag", date="ge2026-04-01")) == [str(old.pk), str(new.pk)]
    assert search(client, "Flag", patient=f"Patient/{world.ann.pk}")["total"] == 2
    assert search(client, "Flag", patient=str(world.bea.pk))["total"] == 0
    assert search(client, "Flag", status="open")["total"] == 0  # not a Flag status
    event = AuditEvent.objects.get(resource="fhir_flag", action="read")
    assert (event.actor_id, event.patient_id, event.object_id) == (world.cora.id, world.ann.id, str(new.pk))


def test_appointment_read_search_by_status_and_date(world: World, client_for: Any) -> None:
    booked = make_appointment(world.ann, starts_at=datetime(2026, 4, 20, 9, 0, tzinfo=UTC))
    cancelled = make_appointment(world.ann, starts_at=datetime(2026, 4, 21, 9, 0, tzinfo=UTC))
    appointment_cancel(appointment=cancelled, actor=world.cora, reason="She is away")
    client = client_for(world.cora)
    body = checked(client.get(f"{BASE}Appointment/{booked.pk}"))
    assert (body["status"], body["start"]) == ("booked", "2026-04-20T09:00:00Z")
    assert entry_ids(search(client, "Appointment", status="booked")) == [str(booked.pk)]
    assert entry_ids(search(client, "Appointment", status="cancelled")) == [str(cancelled.pk)]
    assert search(client, "Appointment", status="fulfilled")["total"] == 0
    assert entry_ids(search(client, "Appointment", date="2026-04-21")) == [str(cancelled.pk)]
    assert entry_ids(search(client, "Appointment", date="lt2026-04-21")) == [str(booked.pk)]
    assert search(client, "Appointment", patient=str(world.ann.pk))["total"] == 2


def test_questionnaire_response_read_and_search_by_authored(world: World, client_for: Any) -> None:
    early = make_check_in(world.ann, datetime(2026, 4, 6, 8, 0, tzinfo=UTC), 3)
    late = make_check_in(world.ann, datetime(2026, 4, 13, 8, 0, tzinfo=UTC), 7)
    client = client_for(world.cora)
    body = checked(client.get(f"{BASE}QuestionnaireResponse/{late.pk}"))
    assert body["status"] == "completed"
    assert body["item"][0]["answer"] == [{"valueInteger": 7}]
    assert entry_ids(search(client, "QuestionnaireResponse", authored="2026-04-13")) == [str(late.pk)]
    assert entry_ids(search(client, "QuestionnaireResponse", authored="lt2026-04-13")) == [str(early.pk)]
    assert entry_ids(search(client, "QuestionnaireResponse", patient=str(world.ann.pk))) == [
        str(early.pk),
        str(late.pk),
    ]
    # The canonical it names resolves: the Questionnaire is served, and answers each item the response has.
    canonical, _, version = body["questionnaire"].partition("|")
    questionnaire = checked(client.get(f"{BASE}Questionnaire/joint-pain-weekly"))
    assert (questionnaire["url"], questionnaire["version"]) == (canonical, version)
    assert [i["linkId"] for i in questionnaire["item"]] == [i["linkId"] for i in body["item"]]


@pytest.mark.parametrize("who", ["ann", "cody", "pia", "admin"])
def test_the_questionnaire_is_a_definition_every_caller_reads_unaudited(
    world: World, client_for: Any, who: str
) -> None:
    client = client_for(world.ann.user if who == "ann" else getattr(world, who))
    assert checked(client.get(f"{BASE}Questionnaire/joint-pain-weekly"))["status"] == "active"
    outcome(client.get(f"{BASE}Questionnaire/joint-pain-monthly"), 404, "not-found")
    bundle = search(client, "Questionnaire")
    assert (bundle["total"], entry_ids(bundle)) == (1, ["joint-pain-weekly"])
    assert bundle["entry"][0]["fullUrl"] == "http://testserver/fhir/R4/Questionnaire/joint-pain-weekly"
    assert entry_ids(search(client, "Questionnaire", _id="joint-pain-weekly,other")) == ["joint-pain-weekly"]
    assert search(client, "Questionnaire", _id="other")["total"] == 0
    both = checked(client.get(f"{BASE}Questionnaire", {"_id": ["joint-pain-weekly", "other"]}))
    assert both["total"] == 0  # repeated parameters AND
    assert search(client, "Questionnaire", _count=0)["total"] == 1
    assert "entry" not in search(client, "Questionnaire", _offset=1)
    assert not AuditEvent.objects.filter(resource="fhir_questionnaire").exists()
    outcome(APIClient().get(f"{BASE}Questionnaire/joint-pain-weekly"), 401, "login")


def test_care_plans_from_both_sources_read_by_their_prefixed_ids(world: World, client_for: Any) -> None:
    supplement = a_supplement_plan(world, world.ann, starts_on=date(2026, 4, 1))
    exercise = an_exercise_plan(world, world.ann)  # created NOW, 2026-04-15
    client = client_for(world.cora)
    body = checked(client.get(f"{BASE}CarePlan/supplement-{supplement.pk}"))
    assert (body["id"], body["status"]) == (f"supplement-{supplement.pk}", "active")
    body = checked(client.get(f"{BASE}CarePlan/exercise-{exercise.pk}"))
    assert body["id"] == f"exercise-{exercise.pk}"
    assert body["title"] == "Weekly exercise plan"
    # The prefix decides the table: the other prefix, none, or a bad uuid names nothing.
    for wrong in (f"exercise-{supplement.pk}", f"supplement-{exercise.pk}", str(supplement.pk), "supplement-x"):
        outcome(client.get(f"{BASE}CarePlan/{wrong}"), 404, "not-found")
    bundle = search(client, "CarePlan", patient=str(world.ann.pk))
    assert bundle["total"] == 2
    assert set(entry_ids(bundle)) == {f"supplement-{supplement.pk}", f"exercise-{exercise.pk}"}
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"http://testserver/fhir/R4/CarePlan/{entry['resource']['id']}"
    assert entry_ids(search(client, "CarePlan", _id=f"exercise-{exercise.pk}")) == [f"exercise-{exercise.pk}"]
    assert search(client, "CarePlan", _id=str(exercise.pk))["total"] == 0
    assert entry_ids(search(client, "CarePlan", date="2026-04-01")) == [f"supplement-{supplement.pk}"]
    assert entry_ids(search(client, "CarePlan", date="gt2026-04-01")) == [f"exercise-{exercise.pk}"]
    exercise_plan_update(actor=world.cora, plan=exercise, status="stopped")
    assert entry_ids(search(client, "CarePlan", status="revoked")) == [f"exercise-{exercise.pk}"]
    assert entry_ids(search(client, "CarePlan", status="active")) == [f"supplement-{supplement.pk}"]
    reads = AuditEvent.objects.filter(resource="fhir_careplan", action="read")
    assert set(reads.values_list("object_id", flat=True)) == {f"supplement-{supplement.pk}", f"exercise-{exercise.pk}"}


def test_detected_issues_are_a_decisions_findings(world: World, client_for: Any) -> None:
    decision = a_decision(world, world.ann)
    a_decision(world, world.ann, findings=[])  # a decision without findings gives no DetectedIssue
    client = client_for(world.phil)
    body = checked(client.get(f"{BASE}DetectedIssue/d-{decision.pk}-1"))
    assert (body["id"], body["status"], body["severity"]) == (f"d-{decision.pk}-1", "final", "moderate")
    assert body["patient"] == {"reference": f"Patient/{world.ann.pk}"}
    assert body["mitigation"][0]["action"]["text"] == "Verified: Nephrologist agrees"
    for missing in (f"d-{decision.pk}-2", f"d-{decision.pk}", f"s-{decision.schedule_id}-0", f"d-{uuid.uuid4()}-0"):
        outcome(client.get(f"{BASE}DetectedIssue/{missing}"), 404, "not-found")
    bundle = search(client, "DetectedIssue", patient=str(world.ann.pk))
    assert bundle["total"] == 2
    assert entry_ids(bundle) == [f"d-{decision.pk}-0", f"d-{decision.pk}-1"]
    assert search(client, "DetectedIssue", date="2026-04-15")["total"] == 2
    assert search(client, "DetectedIssue", date="lt2026-04-15")["total"] == 0
    assert search(client, "DetectedIssue", _id=f"d-{decision.pk}-0")["total"] == 2  # the decision's findings
    event = AuditEvent.objects.get(resource="fhir_detectedissue", action="read")
    assert (event.patient_id, event.object_id) == (world.ann.id, f"d-{decision.pk}-1")


# --- scope ----------------------------------------------------------------------------------------------------------
SEES = {
    "ann": {"ann"},
    "cora": {"ann"},
    "cody": set(),
    "phil": {"ann", "bea"},
    "zed": {"zoe"},
    "pia": {"zoe"},
    "admin": {"ann", "bea", "zoe"},
}


@pytest.fixture
def records(world: World) -> dict[str, dict[str, set[str]]]:
    return {name: one_of_each(world, getattr(world, name)) for name in ("ann", "bea", "zoe")}


STAFF_ONLY = {"Flag", "DetectedIssue"}  # the API shows alerts and review findings to staff only


def assert_sees_exactly(client: Any, records: dict[str, dict[str, set[str]]], sees: set[str], who: str) -> None:
    for type_name in CARE_TYPES:
        visible = set() if who == "ann" and type_name in STAFF_ONLY else sees  # a patient: none of these
        bundle = search(client, type_name, _count=200)
        expected = set().union(*(records[name][type_name] for name in visible)) if visible else set()
        assert set(entry_ids(bundle)) == expected, (who, type_name)
        assert bundle["total"] == len(expected), (who, type_name)
        for name, ids in records.items():
            for resource_id in ids[type_name]:
                response = client.get(f"{BASE}{type_name}/{resource_id}")
                if name in visible:
                    assert checked(response)["id"] == resource_id
                else:
                    outcome(response, 404, "not-found")


@pytest.mark.parametrize("who", sorted(SEES))
def test_each_role_reads_and_searches_exactly_its_scope(
    world: World, client_for: Any, records: dict[str, dict[str, set[str]]], who: str
) -> None:
    user = world.ann.user if who == "ann" else getattr(world, who)
    assert_sees_exactly(client_for(user), records, SEES[who], who)


def test_a_smart_system_client_reads_its_organisation(world: World, records: dict[str, dict[str, set[str]]]) -> None:
    key = signing_key("ES384")
    response = form_post(token_request(assertion(register(world.org_a, key), key)))
    assert response.status_code == 200, response.content
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    assert_sees_exactly(api, records, {"ann", "bea"}, "system")
    assert AuditEvent.objects.filter(actor_role="system", action="denied", resource="fhir_careplan").count() == 2


def test_another_organisations_id_is_a_404_logged_as_denied(
    world: World, client_for: Any, records: dict[str, dict[str, set[str]]]
) -> None:
    AuditEvent.objects.all().delete()
    client = client_for(world.cora)
    (plan_id,) = [i for i in records["zoe"]["CarePlan"] if i.startswith("exercise-")]
    outcome(client.get(f"{BASE}CarePlan/{plan_id}"), 404, "not-found")
    (issue_id, *_) = sorted(records["zoe"]["DetectedIssue"])
    outcome(client.get(f"{BASE}DetectedIssue/{issue_id}"), 404, "not-found")
    events = list(AuditEvent.objects.order_by("id").values_list("action", "resource", "object_id"))
    assert events == [("denied", "fhir_careplan", plan_id), ("denied", "fhir_detectedissue", issue_id)]


# --- paging and query counts ----------------------------------------------------------------------------------------
def count_queries(call: Any) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    return len(ctx.captured_queries), response


def walk(client: Any, url: str) -> tuple[list[dict[str, Any]], list[int]]:
    bundles, queries = [], []
    next_url: str | None = url
    while next_url:
        n, response = count_queries(lambda u=next_url: client.get(u))
        bundle = checked(response)
        bundles.append(bundle)
        queries.append(n)
        next_url = {link["relation"]: link["url"] for link in bundle["link"]}.get("next")
    return bundles, queries


def test_care_plans_page_across_both_sources_through_next_links(world: World, client_for: Any) -> None:
    supplements = [
        a_supplement_plan(world, world.ann, starts_on=date(2026, 1, 1) + timedelta(days=i)) for i in range(4)
    ]
    exercises = [an_exercise_plan(world, world.ann) for _ in range(3)]
    bundles, queries = walk(client_for(world.cora), f"{BASE}CarePlan?patient={world.ann.pk}&_count=3")
    seen = [i for bundle in bundles for i in entry_ids(bundle)]
    assert all(bundle["total"] == 7 and len(bundle["entry"]) <= 3 for bundle in bundles)
    assert len(bundles) == 3
    assert sorted(seen) == sorted([f"supplement-{p.pk}" for p in supplements] + [f"exercise-{p.pk}" for p in exercises])
    assert max(queries) <= 5  # counts (2), the page's rows (at most 2), the audit insert


@pytest.mark.parametrize("type_name", ["Flag", "Appointment", "QuestionnaireResponse"])
def test_single_source_types_page_through_next_links(world: World, client_for: Any, type_name: str) -> None:
    make = {
        "Flag": lambda i: an_alert(world.ann, raised_at=NOW - timedelta(days=i)),
        "Appointment": lambda i: make_appointment(world.ann, starts_at=NOW + timedelta(days=i + 1)),
        "QuestionnaireResponse": lambda i: make_check_in(world.ann, NOW - timedelta(days=7 * i + 1), 4),
    }[type_name]
    made = {str(make(i).pk) for i in range(5)}
    bundles, _ = walk(client_for(world.cora), f"{BASE}{type_name}?_count=2")
    assert len(bundles) == 3
    assert all(bundle["total"] == 5 for bundle in bundles)
    seen = [i for bundle in bundles for i in entry_ids(bundle)]
    assert sorted(seen) == sorted(made)


def test_detected_issues_page_by_decision_and_count_every_finding(world: World, client_for: Any) -> None:
    decisions = [a_decision(world, world.ann) for _ in range(3)]
    bundles, _ = walk(client_for(world.phil), f"{BASE}DetectedIssue?_count=2")
    assert len(bundles) == 2  # two decisions, then one: a page holds the findings of up to _count decisions
    assert all(bundle["total"] == 6 for bundle in bundles)
    seen = [i for bundle in bundles for i in entry_ids(bundle)]
    assert sorted(seen) == sorted(f"d-{d.pk}-{n}" for d in decisions for n in (0, 1))


def test_query_count_does_not_grow_with_rows(world: World, client_for: Any) -> None:
    client = client_for(world.phil)
    grows = {
        "Flag": lambda: an_alert(world.ann),
        "Appointment": lambda: make_appointment(world.ann, starts_at=NOW + timedelta(days=2)),
        "QuestionnaireResponse": lambda: make_check_in(world.ann, NOW - timedelta(hours=1), 4),
        "CarePlan": lambda: (a_supplement_plan(world, world.ann), an_exercise_plan(world, world.ann)),
        "DetectedIssue": lambda: a_decision(world, world.bea),
    }
    for type_name, grow in grows.items():
        grow()
        small, _ = count_queries(lambda t=type_name: client.get(f"{BASE}{t}"))
        for _ in range(4):
            grow()
        large, response = count_queries(lambda t=type_name: client.get(f"{BASE}{t}"))
        assert response.status_code == 200
        assert large == small, type_name


# --- errors and the CapabilityStatement ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("type_name", "params"),
    [
        ("Flag", {"date": "yesterday"}),
        ("Appointment", {"date": "ne2026-04-01"}),
        ("QuestionnaireResponse", {"authored": "2026-13-01"}),
        ("CarePlan", {"date": "9999-12-31"}),
        ("DetectedIssue", {"date": "x"}),
        ("CarePlan", {"_count": "-1"}),
        ("DetectedIssue", {"_offset": "abc"}),
    ],
)
def test_bad_params_are_400_operation_outcomes(world: World, client_for: Any, type_name: str, params: dict) -> None:
    outcome(client_for(world.cora).get(f"{BASE}{type_name}", params), 400, "invalid")


def test_unknown_param_is_400_when_strict(world: World, client_for: Any) -> None:
    response = client_for(world.cora).get(f"{BASE}Flag", {"code": "x"}, HTTP_PREFER="handling=strict")
    outcome(response, 400, "not-supported")


def test_the_capability_statement_lists_the_care_types_and_their_params(api: Any) -> None:
    body = fhir_json(api.get(f"{BASE}metadata"))
    listed = {r["type"]: {p["name"] for p in r["searchParam"]} for r in body["rest"][0]["resource"]}
    assert listed["Flag"] == {"_id", "patient", "status", "date"}
    assert listed["Appointment"] == {"_id", "patient", "status", "date"}
    assert listed["QuestionnaireResponse"] == {"_id", "patient", "authored"}
    assert listed["CarePlan"] == {"_id", "patient", "status", "date"}
    assert listed["DetectedIssue"] == {"_id", "patient", "date"}
    assert listed["Questionnaire"] == {"_id"}


def test_a_fixed_type_with_sources_or_params_is_refused_at_registration() -> None:
    from apps.fhir.registry import PATIENT, REGISTRY, ResourceType, register

    with pytest.raises(ValueError, match="fixed"):
        register(ResourceType(name="Basic", sources=(), params={"patient": PATIENT}, fixed=list))
    assert "Basic" not in REGISTRY
