"""Every 4xx answers in one shape: {"error": {"code", "message", "fields"}}."""

import pytest
from rest_framework.test import APIClient

from backend.errors import _flatten
from tests.conftest import World


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_unknown_url_is_json_404(api: APIClient, db: None) -> None:
    assert_error(api.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_unauthenticated_is_401(api: APIClient, db: None) -> None:
    assert_error(api.get("/api/v1/me/"), 401, "not_authenticated")


def test_wrong_method_is_405(world: World, client_for) -> None:
    assert_error(client_for(world.cora).delete("/api/v1/me/"), 405, "method_not_allowed")


def test_malformed_json_is_400_parse_error(world: World, client_for) -> None:
    response = client_for(world.admin).post("/api/v1/organisations/", data='{"name": ', content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_non_json_body_is_415(world: World, client_for) -> None:
    response = client_for(world.admin).post("/api/v1/organisations/", data="name=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_a_list_instead_of_an_object_is_400(world: World, client_for) -> None:
    response = client_for(world.admin).post("/api/v1/organisations/", [1, 2], format="json")
    error = assert_error(response, 400, "invalid")
    assert error["fields"] == {}


def test_field_errors_name_each_field(world: World, client_for) -> None:
    response = client_for(world.admin).post("/api/v1/staff/", {"email": "x", "colour": "blue"}, format="json")
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"colour"}  # unknown fields are refused before anything else
    response = client_for(world.admin).post("/api/v1/staff/", {"email": "x"}, format="json")
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"email", "password", "role", "organisation"}
    assert "email" in error["message"]


def test_forbidden_role_is_403(world: World, client_for) -> None:
    assert_error(client_for(world.cora).get("/api/v1/audit-events/"), 403, "permission_denied")


@pytest.mark.parametrize(
    ("detail", "flat"),
    [
        ({"a": ["bad"]}, {"a": ["bad"]}),
        ({"recurrence": {"unit": ["bad"]}}, {"recurrence.unit": ["bad"]}),
        ({"items": [{}, {"x": ["bad"]}]}, {"items.1.x": ["bad"]}),
        (["general"], {"non_field_errors": ["general"]}),
    ],
)
def test_nested_errors_flatten_to_dotted_paths(detail, flat) -> None:
    assert _flatten(detail) == flat


def test_oversized_body_is_413_and_writes_nothing(world: World, client_for) -> None:
    from apps.accounts.models import Organisation

    client = client_for(world.admin)
    client.raise_request_exception = False
    body = '{"name": "' + "a" * 3_000_000 + '"}'
    response = client.post("/api/v1/organisations/", data=body, content_type="application/json")
    assert_error(response, 413, "too_large")
    assert Organisation.objects.count() == 2
