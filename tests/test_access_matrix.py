"""Who may reach which patient's data, over every endpoint that carries a patient id.

Endpoints join this matrix by registration: every URL with a `patient_id` is found by walking the URL conf and
must be served by `PatientDataView`; other id kwargs in such URLs need an entry in OBJECT_KWARGS (the test fails
otherwise), so a new endpoint cannot slip past these checks.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts.api_base import PatientDataView
from apps.accounts.models import Patient
from backend.models import AuditEvent
from tests.appointments.factories import make_appointment
from tests.conftest import World
from tests.exercise.factories import make_exercise_plan
from tests.factories import make_dose, make_schedule
from tests.supplements.factories import make_plan

HTTP_METHODS = ("get", "post", "put", "patch", "delete")

# Other URL kwargs of patient-data endpoints: how to make an object of the target patient for each.
OBJECT_KWARGS: dict[str, Callable[[Patient], Any]] = {
    "schedule_id": lambda patient: make_schedule(patient).id,
    "dose_id": lambda patient: make_dose(patient).id,
    "supplement_plan_id": lambda patient: make_plan(patient).id,
    "exercise_plan_id": lambda patient: make_exercise_plan(patient).id,
    "appointment_id": lambda patient: make_appointment(patient).id,
}


@dataclass(frozen=True)
class Endpoint:
    route: str
    view_class: type
    methods: tuple[str, ...]
    kwargs: tuple[str, ...]


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def patient_endpoints() -> list[Endpoint]:
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if "<uuid:patient_id>" not in route:
            continue
        view_class = getattr(pattern.callback, "view_class", None)
        assert view_class is not None, f"{route} is not a class-based view"
        methods = tuple(m for m in HTTP_METHODS if hasattr(view_class, m))
        kwargs = tuple(pattern.pattern.converters)
        found.append(Endpoint(route, view_class, methods, kwargs))
    return found


ENDPOINTS = patient_endpoints()
CASES = [(endpoint, method) for endpoint in ENDPOINTS for method in endpoint.methods]

# Ann belongs to org A, assigned to coordinator Cora.
IN_SCOPE = ("ann", "cora", "phil", "admin")
OUT_OF_SCOPE = ("bea", "cody", "zed", "pia")


def _url(endpoint: Endpoint, patient: Patient) -> str:
    url = "/" + endpoint.route
    for name in endpoint.kwargs:
        value = patient.id if name == "patient_id" else OBJECT_KWARGS[name](patient)
        url = url.replace(f"<uuid:{name}>", str(value))
    return url


def _actor(world: World, name: str) -> Any:
    value = getattr(world, name)
    return value.user if isinstance(value, Patient) else value


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label
        in {"accounts", "profiles", "medications", "supplements", "exercise", "joint_pain", "alerts", "appointments"}
    }


def test_matrix_finds_the_patient_endpoints() -> None:
    routes = {endpoint.route for endpoint in ENDPOINTS}
    assert {
        "api/v1/patients/<uuid:patient_id>/",
        "api/v1/patients/<uuid:patient_id>/bone-density/",
        "api/v1/patients/<uuid:patient_id>/labs/",
        "api/v1/patients/<uuid:patient_id>/bone-health/",
        "api/v1/patients/<uuid:patient_id>/check-ins/",
        "api/v1/patients/<uuid:patient_id>/check-ins/trend/",
    } <= routes


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.route)
def test_every_patient_endpoint_is_registered(endpoint: Endpoint) -> None:
    assert issubclass(endpoint.view_class, PatientDataView), f"{endpoint.route} bypasses PatientDataView"
    unknown = set(endpoint.kwargs) - {"patient_id"} - set(OBJECT_KWARGS)
    assert not unknown, f"add {unknown} to OBJECT_KWARGS so {endpoint.route} joins the matrix"


@pytest.mark.parametrize(("endpoint", "method"), CASES, ids=[f"{m.upper()} {e.route}" for e, m in CASES])
@pytest.mark.parametrize("who", OUT_OF_SCOPE)
def test_out_of_scope_gets_404_and_changes_nothing(world: World, client_for, endpoint, method, who) -> None:
    url = _url(endpoint, world.ann)
    before = _row_counts()
    response = getattr(client_for(_actor(world, who)), method)(url, {}, format="json")
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert _row_counts() == before
    assert not AuditEvent.objects.filter(patient_id=world.ann.id).exists()


@pytest.mark.parametrize(("endpoint", "method"), CASES, ids=[f"{m.upper()} {e.route}" for e, m in CASES])
@pytest.mark.parametrize("who", IN_SCOPE)
def test_in_scope_is_not_hidden(world: World, client_for, endpoint, method, who) -> None:
    response = getattr(client_for(_actor(world, who)), method)(_url(endpoint, world.ann), {}, format="json")
    # In scope, the answer may be success, a validation error (empty body) or a role refusal: never "not found".
    assert response.status_code in {200, 201, 204, 400, 403}, response.content


@pytest.mark.parametrize(("endpoint", "method"), CASES, ids=[f"{m.upper()} {e.route}" for e, m in CASES])
def test_anonymous_gets_401(world: World, api, endpoint, method) -> None:
    response = getattr(api, method)(_url(endpoint, world.ann), {}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("ann", {"ann"}),
        ("bea", {"bea"}),
        ("cora", {"ann"}),
        ("cody", set()),
        ("phil", {"ann", "bea"}),
        ("zed", {"zoe"}),
        ("pia", {"zoe"}),
        ("admin", {"ann", "bea", "zoe"}),
    ],
)
def test_patient_list_is_scoped(world: World, client_for, who: str, expected: set[str]) -> None:
    response = client_for(_actor(world, who)).get("/api/v1/patients/")
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {str(getattr(world, name).id) for name in expected}


def test_malformed_patient_id_is_404(world: World, client_for) -> None:
    response = client_for(world.cora).get("/api/v1/patients/not-a-uuid/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- review endpoints (issue 14): keyed by a schedule id, not a patient id, so listed here by hand -------------------
# (method, url with {schedule}, body). Ann's schedule: in scope for Cora, Phil, the admin (and Ann, refused by role).
REVIEW_ENDPOINTS = [
    ("get", "/api/v1/reviews/{schedule}/history/", {}),
    ("post", "/api/v1/reviews/{schedule}/", {"decision": "verify", "note": "ok"}),
    ("post", "/api/v1/reviews/verify/", {"schedules": ["{schedule}"]}),
]
REVIEW_CASES = [(method, url, body) for method, url, body in REVIEW_ENDPOINTS]


def _review_call(world: World, client_for, who: str, method: str, url: str, body: dict) -> Any:
    schedule = make_schedule(world.ann, "letrozole")
    filled = {k: [str(schedule.id)] if v == ["{schedule}"] else v for k, v in body.items()}
    client = client_for(_actor(world, who))
    return getattr(client, method)(url.format(schedule=schedule.id), filled, format="json")


@pytest.mark.parametrize(("method", "url", "body"), REVIEW_CASES, ids=[f"{m.upper()} {u}" for m, u, _ in REVIEW_CASES])
@pytest.mark.parametrize("who", ("bea", "cody", "zed", "pia"))
def test_review_endpoints_out_of_scope_get_404_and_change_nothing(world: World, client_for, method, url, body, who):
    make_schedule(world.ann, "alendronate")  # the tables are not empty
    before = _row_counts()
    response = _review_call(world, client_for, who, method, url, body)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    after = _row_counts()
    assert after["medications.Schedule"] == before["medications.Schedule"] + 1  # the one made for the call
    assert after["medications.ReviewDecision"] == before["medications.ReviewDecision"]
    assert after["alerts.Alert"] == before["alerts.Alert"]


@pytest.mark.parametrize(("method", "url", "body"), REVIEW_CASES, ids=[f"{m.upper()} {u}" for m, u, _ in REVIEW_CASES])
@pytest.mark.parametrize(("who", "allowed"), [("ann", False), ("cora", None), ("phil", True), ("admin", True)])
def test_review_endpoints_in_scope(world: World, client_for, method, url, body, who, allowed) -> None:
    response = _review_call(world, client_for, who, method, url, body)
    if allowed is None:  # the coordinator reads the history; deciding is the pharmacist's
        allowed = method == "get"
    assert response.status_code == (200 if method == "get" else 201) if allowed else 403, response.content


# --- endpoints under an alert's id (issue 14): found by walking the URL conf too ---------------------------------
def alert_endpoints() -> list[Endpoint]:
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith("api/") and "<uuid:alert_id>" in route:
            view_class = pattern.callback.view_class  # type: ignore[attr-defined]
            methods = tuple(m for m in HTTP_METHODS if hasattr(view_class, m))
            found.append(Endpoint(route, view_class, methods, tuple(pattern.pattern.converters)))
    return found


ALERT_CASES = [(endpoint, method) for endpoint in alert_endpoints() for method in endpoint.methods]


def _ann_alert_url(endpoint: Endpoint) -> str:
    from apps.alerts.services import alert_raise

    alert = alert_raise(
        patient=Patient.objects.get(user__email="ann@example.org"), kind="t", severity="high", message="m", episode="e"
    )
    assert alert is not None
    return "/" + endpoint.route.replace("<uuid:alert_id>", str(alert.id))


def test_alert_endpoints_include_the_contact_attempts() -> None:
    assert "api/v1/alerts/<uuid:alert_id>/contacts/" in {e.route for e in alert_endpoints()}


@pytest.mark.parametrize(("endpoint", "method"), ALERT_CASES, ids=[f"{m.upper()} {e.route}" for e, m in ALERT_CASES])
@pytest.mark.parametrize("who", ("cody", "zed", "pia", "bea"))
def test_another_coordinator_or_organisation_gets_404_on_an_alert(world: World, client_for, endpoint, method, who):
    url = _ann_alert_url(endpoint)
    before = _row_counts()
    response = getattr(client_for(_actor(world, who)), method)(
        url, {"channel": "phone", "outcome": "reached"}, format="json"
    )
    # bea, another patient, is refused by role (403) or by scope (404); staff out of scope always by scope (404)
    assert response.status_code in ((403, 404) if who == "bea" else (404,)), response.content
    assert _row_counts() == before


@pytest.mark.parametrize(("endpoint", "method"), ALERT_CASES, ids=[f"{m.upper()} {e.route}" for e, m in ALERT_CASES])
def test_the_patient_herself_is_refused_on_her_alert(world: World, client_for, endpoint, method) -> None:
    url = _ann_alert_url(endpoint)
    before = _row_counts()
    response = getattr(client_for(world.ann.user), method)(
        url, {"channel": "phone", "outcome": "reached"}, format="json"
    )
    assert response.status_code in (403, 404)
    assert _row_counts() == before


@pytest.mark.parametrize(("endpoint", "method"), ALERT_CASES, ids=[f"{m.upper()} {e.route}" for e, m in ALERT_CASES])
def test_her_coordinator_reaches_her_alert(world: World, client_for, endpoint, method) -> None:
    response = getattr(client_for(world.cora), method)(
        _ann_alert_url(endpoint), {"channel": "phone", "outcome": "reached"}, format="json"
    )
    assert response.status_code in (200, 201, 400), response.content  # 400: resolve without a note
