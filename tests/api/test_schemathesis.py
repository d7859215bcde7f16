"""Property-based contract test: schemathesis drives every operation of the OpenAPI schema against the Django WSGI
app in-process, signed in as each role, and checks that nothing answers 5xx and that every answer (status code,
content type, body) is one the schema documents.

Each generated case is sent inside a savepoint that is rolled back afterwards, so every example starts from the
same seeded world and a failing example replays on its own. Some cases get real ids substituted (a patient the
role may see, one it may not, an organisation/staff member/patient for bodies and filters) so the code behind
the scope checks runs too, not only the 404 path.

Bounded and reproducible: a fixed number of examples per operation and role, derandomized.
"""

import re
from typing import Any

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ROLES, Actor, generate_schema, make_actor, path_ids
from tests.conftest import World

# 8 per operation and role (was 20): the live contract run (tests/contract) adds every check, the coverage phase's
# boundary cases and stateful links against the production server for the patient and coordinator; this file keeps
# the four roles and the in/out-of-scope ids. 20 cost a third of CI's time for few new cases.
MAX_EXAMPLES = 8

CONFIG = schemathesis.Config.from_dict(
    {
        # Positive and negative data; explicit examples and fuzzing. The coverage phase (unbounded by
        # max_examples) and stateful testing are off to keep the run short and predictable.
        "generation": {"mode": "all"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(generate_schema(), config=CONFIG)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# How a case picks its ids: as generated (random, so mostly 404/400), or real ones in or out of the role's scope.
TARGETS = ("generated", "in_scope", "in_scope", "out_of_scope")


@pytest.fixture
def actor(seeded_world: World, role: str) -> Actor:
    return make_actor(seeded_world, role)


def substitute_ids(case: schemathesis.Case, actor: Actor, target: str, pick: int) -> None:
    if target == "generated":
        return
    patients = actor.in_scope_patients if target == "in_scope" else actor.out_of_scope_patients
    patient = patients[pick % len(patients)]
    if case.path_parameters and "patient_id" in case.path_parameters:
        real = path_ids(patient)
        for name in case.path_parameters.keys() & real.keys():
            case.path_parameters[name] = real[name]
    refs = {**actor.ref_ids, "patient": patient}
    for container in (case.body, case.query):
        if isinstance(container, dict):
            for name in container.keys() & refs.keys():
                container[name] = refs[name]


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@schema.given(target=st.sampled_from(TARGETS), pick=st.integers(min_value=0, max_value=2))
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_schema(
    case: schemathesis.Case,
    target: str,
    pick: int,
    role: str,
    actor: Actor,
    wsgi_app: Any,
    server_errors: list[str],
) -> None:
    substitute_ids(case, actor, target, pick)
    server_errors.clear()
    with transaction.atomic():
        try:
            case.call_and_validate(app=wsgi_app, headers=actor.headers, checks=CHECKS)
        except BaseException as exc:
            for trace in server_errors:
                exc.add_note(f"Server-side exception ({role}):\n{trace}")
            raise
        finally:
            transaction.set_rollback(True)


# --- hostile strings in query parameters -------------------------------------------------------------------------
# Random generation only rarely puts a NUL byte into a query string, and PostgreSQL refuses NULs in text (a 500 if
# the value reaches a query unvalidated). So every documented string query parameter also gets these, deterministically.
HOSTILE_CHECKS = [not_a_server_error, status_code_conformance]
HOSTILE_STRINGS = ("\x00", "a\x00b", "' OR '1'='1", "%_\\", "\U0001f9b4" * 300, "9" * 400)


def string_query_parameters() -> list[tuple[str, str, str]]:
    found = []
    for path, item in schema.raw_schema["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["in"] == "query" and parameter.get("schema", {}).get("type") == "string":
                    found.append((method.upper(), path, parameter["name"]))
    return found


QUERY_PARAMETERS = string_query_parameters()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "name"), QUERY_PARAMETERS, ids=[" ".join(p) for p in QUERY_PARAMETERS])
def test_hostile_query_strings_are_refused_or_ignored(
    method: str, path: str, name: str, role: str, actor: Actor, wsgi_app: Any, server_errors: list[str]
) -> None:
    operation = schema[path][method]
    path_parameters = path_ids(actor.in_scope_patients[0]) if "{patient_id}" in path else {}
    path_parameters = {name: value for name, value in path_parameters.items() if f"{{{name}}}" in path}
    for name in re.findall(r"\{(\w+)\}", path):
        path_parameters.setdefault(name, "1")
    for value in HOSTILE_STRINGS:
        case = operation.Case(path_parameters=path_parameters, query={name: value})
        server_errors.clear()
        with transaction.atomic():
            try:
                # Body conformance is the fuzz test's job; here: no 5xx, and a documented status.
                case.call_and_validate(app=wsgi_app, headers=actor.headers, checks=HOSTILE_CHECKS)
            except BaseException as exc:
                exc.add_note(f"{method} {path}?{name}={value[:20]!r} as {role}")
                for trace in server_errors:
                    exc.add_note(f"Server-side exception:\n{trace}")
                raise
            finally:
                transaction.set_rollback(True)
