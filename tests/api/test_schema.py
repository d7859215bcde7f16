"""The OpenAPI schema: generated without warnings, valid, served, and documenting the one error shape everywhere."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from drf_spectacular.drainage import reset_generator_stats

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ERROR_REF = "#/components/schemas/Error"


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def is_authenticated(operation: dict[str, Any]) -> bool:
    """Whether the operation asks for credentials: some security requirement that is not the empty one."""
    return any(requirement for requirement in operation.get("security", []))


def documents_error(operation: dict[str, Any], code: str) -> bool:
    response = operation.get("responses", {}).get(code)
    if not response:
        return False
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref") == ERROR_REF


def test_schema_generates_without_warnings_and_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # drf-spectacular keeps warnings in a process-wide cache: start clean so only this run counts (and gets printed).
    reset_generator_stats()
    target = tmp_path / "schema.yaml"
    failure = None
    try:
        call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))
    except Exception as exc:  # SchemaGenerationError (warnings) or SchemaValidationError (invalid OpenAPI)
        failure = f"manage.py spectacular failed: {exc!r}\n{capsys.readouterr().err}"
    finally:
        reset_generator_stats()
    if failure:
        pytest.fail(failure, pytrace=False)
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert schema["paths"]


def test_schema_is_served(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content[:500]
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "BoneSync API"
    assert any(path.startswith("/api/v1/") for path in schema["paths"])

    yaml_response = client.get("/api/schema/")
    assert yaml_response.status_code == 200
    assert yaml.safe_load(yaml_response.content)["openapi"].startswith("3.")


def test_docs_render(client: Client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "<html" in body.lower()
    assert "swagger" in body.lower()
    assert "/api/schema/" in body


def test_error_component_is_the_one_error_shape(openapi_schema: dict[str, Any]) -> None:
    error = openapi_schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = error["properties"]["error"]
    assert set(detail["required"]) == {"code", "message", "fields"}
    assert set(detail["properties"]) == {"code", "message", "fields"}


def test_every_operation_documents_its_errors(openapi_schema: dict[str, Any]) -> None:
    missing = []
    for path, method, operation in operations(openapi_schema):
        wanted = ["400", "404"]
        if is_authenticated(operation):
            wanted += ["401", "403"]
        if "requestBody" in operation:
            wanted.append("415")
        missing += [f"{method.upper()} {path}: {code}" for code in wanted if not documents_error(operation, code)]
    assert not missing, "operations not documenting the Error shape:\n" + "\n".join(missing)


def test_authenticated_operations_name_the_bearer_scheme(openapi_schema: dict[str, Any]) -> None:
    schemes = openapi_schema["components"]["securitySchemes"]
    assert schemes["jwtAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    authenticated = [op for _, _, op in operations(openapi_schema) if is_authenticated(op)]
    assert authenticated  # sanity: the walk above is not vacuous
    for operation in authenticated:
        for requirement in operation["security"]:
            assert set(requirement) <= set(schemes), operation["operationId"]


def test_successful_responses_document_their_body(openapi_schema: dict[str, Any]) -> None:
    """Every 2xx answer other than 204 says what it returns (the contract: the schema is complete)."""
    missing = [
        f"{method.upper()} {path}: {code}"
        for path, method, operation in operations(openapi_schema)
        for code, response in operation["responses"].items()
        if code.startswith("2") and code != "204" and not response.get("content")
    ]
    assert not missing, "2xx responses without a documented body:\n" + "\n".join(missing)


def test_strict_request_bodies_are_documented_closed(openapi_schema) -> None:
    schemas = openapi_schema["components"]["schemas"]
    for name in ("StaffListCreateInputRequest", "PatientListCreateInputRequest", "BoneDensityInputRequest"):
        assert schemas[name]["additionalProperties"] is False, name


def walk_properties(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object in the document (properties, parameters, items), with where it is."""
    if isinstance(node, dict):
        if "type" in node or "format" in node or "pattern" in node:
            yield path, node
        for key, value in node.items():
            yield from walk_properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk_properties(value, f"{path}/{index}")


def test_no_wall_clock_time_is_declared_an_rfc3339_time(openapi_schema: dict[str, Any]) -> None:
    """RFC 3339 `time` requires an offset ("07:00:00Z"); the server sends and accepts local times without one."""
    declared = [path for path, node in walk_properties(openapi_schema) if node.get("format") == "time"]
    assert not declared, "wall-clock times declared `format: time`:\n" + "\n".join(declared)
    local_time = openapi_schema["components"]["schemas"]["ReminderOutput"]["properties"]["local_time"]
    assert re.fullmatch(local_time["pattern"], "07:00:00")
