"""Helpers for the sync tests: a patient's app speaking WatermelonDB's protocol over the API."""

import json
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Patient

TABLES = (
    "profiles",
    "schedules",
    "dose_records",
    "reminders",
    "supplement_plans",
    "supplement_intakes",
    "stock_refills",  # issue 17
    "exercise_plans",
    "exercise_sessions",
    "joint_pain_check_ins",
    "bone_density_results",
    "notices",
    "appointments",
)


@dataclass
class App:
    """One install of the app: pulls and pushes like WatermelonDB's synchronize() (without the local database)."""

    client: APIClient
    patient: Patient
    last_pulled_at: int | None = None

    def pull(self, *, migration: Any = None, expect: int = 200) -> dict[str, Any]:
        params: dict[str, Any] = {"last_pulled_at": self.last_pulled_at if self.last_pulled_at else "null"}
        if migration is not None:
            params["migration"] = json.dumps(migration)
        response = self.client.get("/api/v1/sync/", params)
        assert response.status_code == expect, response.content
        body: dict[str, Any] = response.json()
        if expect == 200:
            self.last_pulled_at = body["timestamp"]
        return body

    def push(self, changes: dict[str, Any], *, expect: int = 200, last_pulled_at: int | None = None) -> Any:
        at = last_pulled_at or self.last_pulled_at
        response = self.client.post(f"/api/v1/sync/?last_pulled_at={at}", {"changes": changes}, format="json")
        assert response.status_code == expect, response.content
        return response.json()


@pytest.fixture
def app_for(client_for):
    def make(patient: Patient) -> App:
        return App(client_for(patient.user), patient)

    return make


def ids(body: dict[str, Any], table: str, kind: str) -> set[str]:
    items = body["changes"][table][kind]
    return {item if isinstance(item, str) else item["id"] for item in items}


def changed_ids(body: dict[str, Any], table: str) -> set[str]:
    return ids(body, table, "created") | ids(body, table, "updated")


def table_changes(**tables: dict[str, list[Any]]) -> dict[str, Any]:
    return {name: {"created": [], "updated": [], "deleted": [], **value} for name, value in tables.items()}
