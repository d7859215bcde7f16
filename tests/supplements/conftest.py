"""Fixtures and HTTP helpers for the supplements tests (objects come from tests/supplements/factories.py)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from apps.accounts.models import Patient

# A Thursday, after the US spring change (8 March 2026) and before New Zealand's autumn one (5 April 2026).
NOW = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)


def url(patient: Patient, path: str) -> str:
    return f"/api/v1/patients/{patient.id}/{path}/"


def errors(response: Any) -> dict[str, list[str]]:
    body = response.json()
    assert body["error"]["code"] == "invalid", body
    fields: dict[str, list[str]] = body["error"]["fields"]
    return fields


@pytest.fixture
def frozen_now() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW
