"""JSON nested too deeply for Python's parser (depth 1000, about 2 KB: RecursionError) is a 400 in the one error
shape wherever a client can send it, signed in or not, in a body or in the sync `migration` parameter, and nothing
is logged at ERROR for it (issue 12). The admin's JSON inputs answer it with a form error."""

import logging

import pytest
from django.test import Client

from apps.supplements.models import SupplementPlan
from tests.backend.test_errors import assert_error
from tests.conftest import World

DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
def test_unauthenticated_sign_in_with_deep_json_is_a_400(api, db: None, no_errors_logged: None, body: str) -> None:
    assert len(body) <= 6_001  # a few KB
    response = api.post("/api/v1/auth/token/", data=body, content_type="application/json")
    error = assert_error(response, 400, "parse_error")
    assert "too deeply" in error["message"]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/v1/auth/token/refresh/"),
        ("post", "/api/v1/organisations/"),
        ("post", "/api/v1/staff/"),
    ],
)
def test_signed_in_bodies_with_deep_json_are_a_400(
    world: World, client_for, no_errors_logged: None, method: str, url: str
) -> None:
    client = client_for(world.admin)
    response = getattr(client, method)(url, data=DEEP_OBJECT, content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_admin_json_input_with_deep_json_is_a_form_error(world: World, no_errors_logged: None) -> None:
    client = Client()
    client.force_login(world.admin)
    response = client.post(
        "/admin/supplements/supplementplan/add/",
        {
            "patient": world.ann.pk,
            "supplement": "calcium_citrate",
            "amount": "500",
            "unit": "mg",
            "times_of_day": DEEP,
            "status": "active",
            "starts_on": "2026-11-01",
        },
    )
    assert response.status_code == 200  # the form again, with its error
    assert "nested too deeply" in response.content.decode()
    assert not SupplementPlan.objects.exists()


def test_admin_review_decision_findings_with_deep_json_is_a_form_error(world: World, no_errors_logged: None) -> None:
    client = Client()
    client.force_login(world.admin)
    response = client.post(
        "/admin/medications/reviewdecision/add/",
        {"decision": "verify", "note": "", "reviewer": world.pia.pk, "findings": DEEP},
    )
    assert response.status_code == 200
    assert "nested too deeply" in response.content.decode()
