"""The schema says what the server accepts (issue 12 finding 14): decimal patterns need a digit, the server's limits
(adherence window, `week`, date spans) are declared, and empty query parameters are refused as the schema says."""

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import World


def decimal_patterns(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if node.get("format") == "decimal" and "pattern" in node:
            yield path, node["pattern"]
        for key, value in node.items():
            yield from decimal_patterns(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from decimal_patterns(value, f"{path}/{index}")


def test_decimal_patterns_require_a_digit(openapi_schema: dict[str, Any]) -> None:
    """drf-spectacular's `^-?\\d{0,5}(?:\\.\\d{0,1})?$` matched "", "." and "-", which the server refuses."""
    patterns = list(decimal_patterns(openapi_schema))
    assert patterns  # the walk is not vacuous
    loose = [
        f"{path}: {pattern} matches {text!r}"
        for path, pattern in patterns
        for text in ("", ".", "-", "1.", ".5")
        if re.search(pattern, text)
    ]
    assert not loose, "\n".join(loose)
    for _, pattern in patterns:
        assert re.search(pattern, "0")


def test_decimal_patterns_keep_the_field_limits(openapi_schema: dict[str, Any]) -> None:
    schemas = openapi_schema["components"]["schemas"]
    t_score = schemas["BoneDensityInputRequest"]["properties"]["t_score"]["pattern"]  # max 2 whole digits, 1 place
    assert re.search(t_score, "-12.5") and not re.search(t_score, "123") and not re.search(t_score, "1.25")
    parameters = openapi_schema["paths"]["/api/v1/patients/"]["get"]["parameters"]
    adherence = next(p for p in parameters if p["name"] == "adherence_below")["schema"]["pattern"]  # 0..1
    assert re.search(adherence, "0.8") and not re.search(adherence, "-0.5")


@pytest.mark.parametrize("value", ["", ".", "-"])
def test_decimals_without_a_digit_are_a_400(world: World, client_for, value: str) -> None:
    response = client_for(world.cora).post(
        f"/api/v1/patients/{world.ann.id}/bone-density/",
        {"measured_on": "2026-01-05", "site": "lumbar_spine", "t_score": value},
        format="json",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["code"] == "invalid" and "t_score" in body["error"]["fields"]


@pytest.mark.parametrize("value", [".", "-"])
def test_decimal_query_parameters_without_a_digit_are_a_400(world: World, client_for, value: str) -> None:
    response = client_for(world.cora).get("/api/v1/patients/", {"adherence_below": value})
    assert response.status_code == 400, response.content
    assert "adherence_below" in response.json()["error"]["fields"]


def query_parameter(schema: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    parameters = schema["paths"][path]["get"]["parameters"]
    found: dict[str, Any] = next(p for p in parameters if p["name"] == name)
    return found


def test_adherence_window_limits_are_declared(openapi_schema: dict[str, Any]) -> None:
    window = query_parameter(openapi_schema, "/api/v1/patients/{patient_id}/adherence/", "window")["schema"]
    assert (window["minimum"], window["maximum"], window["default"]) == (7, 730, 90)


@pytest.mark.parametrize(
    "path", ["/api/v1/patients/{patient_id}/exercise-sessions/", "/api/v1/patients/{patient_id}/exercise/weekly/"]
)
def test_week_format_is_declared(openapi_schema: dict[str, Any], path: str) -> None:
    pattern = query_parameter(openapi_schema, path, "week")["schema"]["pattern"]
    assert re.search(pattern, "2026-W05") and not re.search(pattern, "2026-5") and not re.search(pattern, "")


@pytest.mark.parametrize(
    ("path", "span"),
    [
        ("/api/v1/patients/{patient_id}/reminders/", "31 days"),
        ("/api/v1/patients/{patient_id}/schedules/{schedule_id}/occurrences/", "366 days"),
    ],
)
def test_date_window_spans_are_declared(openapi_schema: dict[str, Any], path: str, span: str) -> None:
    assert span in query_parameter(openapi_schema, path, "to")["description"]


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("DoseListCreateInputRequest", "taken_at"),
        ("PatchedDoseDetailInputRequest", "taken_at"),
        ("SupplementIntakeListCreateInputRequest", "taken_at"),
        ("DietaryCalciumListCreateInputRequest", "date"),
        ("ExerciseSessionListCreateInputRequest", "performed_at"),
    ],
)
def test_the_400_day_limit_of_records_is_declared(openapi_schema: dict[str, Any], component: str, field: str) -> None:
    description = openapi_schema["components"]["schemas"][component]["properties"][field]["description"]
    assert "at most 400 days ago" in description


# --- inputs the schema forbids are refused ------------------------------------------------------------------------
def refused_naming(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "invalid" and field in body["fields"], body


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("reminders", "to"),
        ("reminders", "from"),
        ("adherence", "window"),
        ("exercise-sessions", "week"),
        ("exercise/weekly", "week"),
        ("dietary-calcium", "date"),
        ("supplement-intakes", "date"),
        ("nutrition/daily", "date"),
    ],
)
def test_an_empty_query_parameter_is_a_400_not_read_as_absent(
    world: World, client_for, path: str, parameter: str
) -> None:
    response = client_for(world.ann.user).get(f"/api/v1/patients/{world.ann.id}/{path}/", {parameter: ""})
    refused_naming(response, parameter)


@pytest.mark.parametrize("parameter", ["adherence_below", "calcium_below", "exercise_below", "alert_level"])
def test_an_empty_patient_filter_is_a_400(world: World, client_for, parameter: str) -> None:
    refused_naming(client_for(world.cora).get("/api/v1/patients/", {parameter: ""}), parameter)


def test_an_empty_search_is_still_no_search(world: World, client_for) -> None:
    response = client_for(world.cora).get("/api/v1/patients/", {"q": ""})
    assert response.status_code == 200
    assert response.json()["count"] == 1  # Ann, Cora's one patient


@pytest.mark.parametrize("value", ["null", "", "0", "201", "abc", "-1"])
def test_a_page_size_outside_1_to_200_is_a_400(world: World, client_for, value: str) -> None:
    response = client_for(world.ann.user).get(f"/api/v1/patients/{world.ann.id}/reminders/", {"page_size": value})
    refused_naming(response, "page_size")


@pytest.mark.parametrize("value", ["1", "200"])
def test_page_sizes_1_and_200_are_accepted(world: World, client_for, value: str) -> None:
    response = client_for(world.ann.user).get(f"/api/v1/patients/{world.ann.id}/reminders/", {"page_size": value})
    assert response.status_code == 200, response.content


def test_page_size_limits_are_declared(openapi_schema: dict[str, Any]) -> None:
    page_size = query_parameter(openapi_schema, "/api/v1/patients/{patient_id}/reminders/", "page_size")["schema"]
    assert (page_size["minimum"], page_size["maximum"]) == (1, 200)
    page = query_parameter(openapi_schema, "/api/v1/patients/{patient_id}/reminders/", "page")["schema"]
    assert page["minimum"] == 1


@pytest.mark.parametrize(
    ("value", "status"), [("7:00", 400), ("07:0", 400), ("24:00", 400), ("07:00", 200), ("23:59:59", 200)]
)
def test_quiet_hours_take_exactly_the_declared_wall_clock_form(
    world: World, client_for, value: str, status: int
) -> None:
    """Django's parser also took "7:00", which the schema's HH:MM[:SS] pattern forbids: the two now agree."""
    response = client_for(world.ann.user).patch(
        f"/api/v1/patients/{world.ann.id}/reminder-preferences/",
        {"quiet_hours_start": value, "quiet_hours_end": "08:00"},
        format="json",
    )
    assert response.status_code == status, response.content
    if status == 400:
        assert "quiet_hours_start" in response.json()["error"]["fields"]


@pytest.mark.parametrize(("value", "status"), [(".5", 400), ("1.", 400), ("+1", 400), ("1e0", 400), ("-1.5", 201)])
def test_decimals_take_exactly_the_declared_form(world: World, client_for, value: str, status: int) -> None:
    """DRF's Decimal() also took ".5", "1.", "+1" and "1e0", which the schema's pattern forbids: the two now agree."""
    response = client_for(world.cora).post(
        f"/api/v1/patients/{world.ann.id}/bone-density/",
        {"measured_on": "2026-01-05", "site": "lumbar_spine", "t_score": value},
        format="json",
    )
    assert response.status_code == status, response.content
    if status == 400:
        assert "t_score" in response.json()["error"]["fields"]


@pytest.mark.parametrize("value", [".5", "0.", "-0"])
def test_decimal_filters_take_exactly_the_declared_form(world: World, client_for, value: str) -> None:
    refused_naming(client_for(world.cora).get("/api/v1/patients/", {"adherence_below": value}), "adherence_below")


def test_the_dose_list_schedule_filter_is_declared_a_uuid(openapi_schema: dict[str, Any]) -> None:
    """The server refuses `?schedule=abc` with a 400: the schema says it takes a UUID."""
    schedule = query_parameter(openapi_schema, "/api/v1/patients/{patient_id}/doses/", "schedule")["schema"]
    assert schedule["format"] == "uuid"


def test_a_delete_that_reads_a_body_declares_it(openapi_schema: dict[str, Any]) -> None:
    """Removing a device by platform and registration id reads them from the body: the schema says so (it used to
    document no body, so a client following it was refused with a 400)."""
    body = openapi_schema["paths"]["/api/v1/devices/"]["delete"]["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(openapi_schema["components"]["schemas"][schema]["required"]) == {"platform", "registration_id"}


def test_sync_pull_parameters_declare_what_the_server_reads(openapi_schema: dict[str, Any]) -> None:
    parameters = {p["name"]: p["schema"] for p in openapi_schema["paths"]["/api/v1/sync/"]["get"]["parameters"]}
    for name in ("last_pulled_at", "schema_version"):
        pattern = parameters[name]["pattern"]
        assert all(re.search(pattern, ok) for ok in ("", "null", "12")), name
        assert not any(re.search(pattern, bad) for bad in ("0", "x", "-1", "01")), name
    push = openapi_schema["paths"]["/api/v1/sync/"]["post"]["parameters"]
    assert next(p for p in push if p["name"] == "last_pulled_at")["schema"]["minimum"] == 1
