"""Fixtures for the contract tests: the generated OpenAPI schema, the WSGI app called in-process, one actor per role."""

import json
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import User
from apps.exercise.models import ExercisePlan
from apps.medications.models import DoseRecord, Schedule
from apps.supplements.models import SupplementPlan
from backend.roles import Role
from tests.conftest import World
from tests.exercise.factories import make_exercise_plan
from tests.factories import BoneDensityFactory, LabFactory, make_dose, make_schedule
from tests.supplements.factories import make_plan


def generate_schema() -> dict[str, Any]:
    """The schema exactly as `manage.py spectacular` / `/api/schema/` produce it, as plain JSON data.

    Generation warnings are test_schema.py's business; here they are silenced so collection output stays clean."""
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    data: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))
    return data


@pytest.fixture(scope="session")
def openapi_schema() -> dict[str, Any]:
    return generate_schema()


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """Django's WSGI handler, called in the test's own thread and database transaction.

    A real WSGI request fires request_started/request_finished, whose `close_old_connections` would close the
    connection in the middle of the test transaction (Django's own test client disconnects it the same way)."""
    from config.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def server_errors() -> Iterator[list[str]]:
    """Tracebacks of exceptions the app turned into 500s while the test ran (appended in order)."""
    seen: list[str] = []

    def record(sender: Any, request: Any = None, **kwargs: Any) -> None:
        path = getattr(request, "path", "?")
        seen.append(f"{getattr(request, 'method', '?')} {path}\n{traceback.format_exc()}")

    got_request_exception.connect(record, weak=False)
    try:
        yield seen
    finally:
        got_request_exception.disconnect(record)


@dataclass
class Actor:
    """A signed-in user of one role with the ids she may and may not reach."""

    role: str
    user: User | None
    in_scope_patients: list[str]
    out_of_scope_patients: list[str]
    # Real ids to put into body/query fields of these names (care-team, staff, enrolment, audit filters).
    ref_ids: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        token = RefreshToken.for_user(self.user).access_token if self.user is not None else None
        self.headers = {"Authorization": f"Bearer {token}"} if token is not None else {}


ROLES = ("patient", "coordinator", "pharmacist", "admin")


def make_actor(world: World, role: str) -> Actor:
    ann, bea, zoe = (str(p.id) for p in (world.ann, world.bea, world.zoe))
    if role == Role.PATIENT:
        return Actor(role, world.ann.user, [ann], [bea, zoe], {"patient": ann, "organisation": str(world.org_a.id)})
    common = {"organisation": str(world.org_a.id), "staff": str(world.phil.id), "actor": str(world.cora.id)}
    if role == Role.COORDINATOR:
        return Actor(role, world.cora, [ann], [bea, zoe], {**common, "patient": ann})
    if role == Role.PHARMACIST:
        return Actor(role, world.phil, [ann, bea], [zoe], {**common, "patient": bea})
    if role == Role.ADMIN:
        return Actor(
            role,
            world.admin,
            [ann, bea, zoe],
            [str(uuid.UUID(int=1))],
            {
                "organisation": str(world.org_b.id),
                "staff": str(world.pia.id),
                "patient": zoe,
                "actor": str(world.zed.id),
            },
        )
    raise AssertionError(role)


@pytest.fixture
def seeded_world(world: World) -> World:
    """The shared world plus some clinical data, so that reads return rows and assessments have input."""
    for patient in (world.ann, world.zoe):
        BoneDensityFactory(patient=patient, t_score="-2.1", site="femoral_neck")
        BoneDensityFactory(patient=patient)
        LabFactory(patient=patient)
        LabFactory(patient=patient, kind="vitamin_d_25oh", value="41", unit="nmol/L")
    for patient in (world.ann, world.bea, world.zoe):
        make_dose(patient, make_schedule(patient))
        make_schedule(patient, "denosumab", starts_on=date(2025, 6, 2))
        make_plan(patient)
        make_exercise_plan(patient)
    return world


def path_ids(patient_id: str) -> dict[str, str]:
    """Real ids of this patient's objects for the other path parameters (schedule_id, dose_id)."""
    ids = {"patient_id": patient_id}
    schedule = Schedule.objects.filter(patient_id=patient_id).order_by("created_at").first()
    dose = DoseRecord.objects.filter(patient_id=patient_id).first()
    if schedule is not None:
        ids["schedule_id"] = str(schedule.id)
    if dose is not None:
        ids["dose_id"] = str(dose.id)
    plan = SupplementPlan.objects.filter(patient_id=patient_id).first()
    if plan is not None:
        ids["supplement_plan_id"] = str(plan.id)
    exercise_plan = ExercisePlan.objects.filter(patient_id=patient_id).first()
    if exercise_plan is not None:
        ids["exercise_plan_id"] = str(exercise_plan.id)
    return ids
