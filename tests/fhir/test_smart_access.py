"""What a SMART access token opens: a FHIR-only principal reading its own organisation's patients, for five
minutes, and nothing of the staff/patient API."""

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.models import Organisation, Patient
from apps.fhir.auth import FhirSystemTokenAuthentication, SystemPrincipal, request_principal, scope_allows
from apps.fhir.models import FhirAccessToken, FhirAssertionUse, FhirClient
from apps.fhir.tasks import smart_cleanup
from backend.access import access_patient_data_by_user, organisation_scope, patient_scope
from backend.audit import audit_denied, audit_record
from backend.models import AuditEvent
from backend.roles import SYSTEM
from tests.conftest import World
from tests.fhir.smart_helpers import assertion, form_post, register, signing_key, token_request

pytestmark = pytest.mark.django_db


class PatientsProbe(APIView):
    """A test-only FHIR-like view: the patients the caller may read, or one of them (404 out of scope)."""

    authentication_classes = [FhirSystemTokenAuthentication, JWTAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request, pk: str | None = None) -> Response:
        caller = request_principal(request)
        if not scope_allows(caller, "Patient"):
            return Response({"detail": "scope"}, status=403)
        queryset = Patient.objects.all()
        if pk is not None:
            return Response({"id": str(access_patient_data_by_user(queryset, caller, pk, via="").pk)})
        ids = sorted(str(p) for p in queryset.filter(patient_scope(caller, via="")).values_list("pk", flat=True))
        return Response({"ids": ids})


urlpatterns = [
    path("fhir/R4/", include("apps.fhir.smart_urls")),
    path("probe/patients/", PatientsProbe.as_view()),
    path("probe/patients/<str:pk>/", PatientsProbe.as_view()),
]


@pytest.fixture
def probe_urls() -> Iterator[None]:
    with override_settings(ROOT_URLCONF="tests.fhir.test_smart_access"):
        yield


def get_token(organisation: Organisation, scope: str = "system/*.read") -> tuple[str, FhirClient]:
    key = signing_key("ES384")
    client = register(organisation, key)
    response = form_post(token_request(assertion(client, key), scope=scope))
    assert response.status_code == 200, response.content
    return response.json()["access_token"], client


def bearer(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_a_token_reads_its_organisations_patients_only(world: World, probe_urls: None) -> None:
    token, client = get_token(world.org_a)
    response = bearer(token).get("/probe/patients/")
    assert response.status_code == 200
    assert response.json()["ids"] == sorted([str(world.ann.pk), str(world.bea.pk)])
    assert bearer(token).get(f"/probe/patients/{world.ann.pk}/").status_code == 200
    # Another organisation's patient is a 404, like any id out of scope, and the refusal is audited as the system's.
    assert bearer(token).get(f"/probe/patients/{world.zoe.pk}/").status_code == 404
    denied = AuditEvent.objects.get(action=AuditEvent.Action.DENIED)
    assert (denied.actor, denied.actor_role, denied.actor_client) == (None, SYSTEM, client.client_id)
    assert denied.object_id == str(world.zoe.pk)
    token_b, _ = get_token(world.org_b)
    assert bearer(token_b).get("/probe/patients/").json()["ids"] == [str(world.zoe.pk)]


def test_the_token_expires_after_five_minutes(world: World, probe_urls: None) -> None:
    start = time.time()
    with time_machine.travel(start, tick=False) as traveller:
        token, _ = get_token(world.org_a)
        traveller.shift(timedelta(seconds=299))
        assert bearer(token).get("/probe/patients/").status_code == 200
        traveller.shift(timedelta(seconds=1))
        response = bearer(token).get("/probe/patients/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_deactivating_the_client_stops_its_tokens_at_once(world: World, probe_urls: None) -> None:
    token, client = get_token(world.org_a)
    assert bearer(token).get("/probe/patients/").status_code == 200
    FhirClient.objects.filter(pk=client.pk).update(is_active=False)
    assert bearer(token).get("/probe/patients/").status_code == 401


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer a b", "Bearer"])
def test_unknown_or_malformed_tokens_are_401(world: World, probe_urls: None, header: str) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    assert api.get("/probe/patients/").status_code == 401


def test_a_staff_api_token_still_works_beside_it(world: World, probe_urls: None) -> None:
    staff = bearer(str(AccessToken.for_user(world.phil)))
    assert staff.get("/probe/patients/").json()["ids"] == sorted([str(world.ann.pk), str(world.bea.pk)])


def test_a_token_without_the_types_scope_is_refused(world: World, probe_urls: None) -> None:
    token, _ = get_token(world.org_a, scope="system/Observation.read")
    assert bearer(token).get("/probe/patients/").status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/patients/",
        "/api/v1/patients/{ann}/",
        "/api/v1/me/",
        "/api/v1/organisations/",
        "/api/v1/audit-events/",
    ],
)
def test_a_system_token_opens_nothing_outside_fhir(world: World, path: str) -> None:
    # The API's own authentication (simplejwt) reads the bearer token as a JWT, which it is not: a clean 401.
    token, _ = get_token(world.org_a)
    response = bearer(token).get(path.format(ann=world.ann.pk))
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"]
    assert str(world.ann.pk) not in response.content.decode()


def principal(organisation: Organisation, *scopes: str) -> SystemPrincipal:
    return SystemPrincipal(
        pk=organisation.pk, client_id="c", organisation_id=organisation.pk, scopes=scopes or ("system/*.read",)
    )


def test_patient_scope_keeps_a_system_principal_in_its_organisation(world: World) -> None:
    seen = set(Patient.objects.filter(patient_scope(principal(world.org_a), via="")))
    assert seen == {world.ann, world.bea}
    assert world.zoe not in seen
    assert set(Patient.objects.filter(patient_scope(principal(world.org_b), via=""))) == {world.zoe}


def test_organisation_scope_keeps_a_system_principal_in_its_organisation(world: World) -> None:
    assert list(Organisation.objects.filter(organisation_scope(principal(world.org_a), via=""))) == [world.org_a]
    assert set(Patient.objects.filter(organisation_scope(principal(world.org_b)))) == {world.zoe}


@pytest.mark.parametrize(
    ("scopes", "resource", "interaction", "allowed"),
    [
        (("system/*.read",), "Observation", "read", True),
        (("system/*.read",), "Patient", "search", True),
        (("system/*.rs",), "Flag", "search", True),
        (("system/Patient.read",), "Patient", "read", True),
        (("system/Patient.read",), "Observation", "read", False),
        (("system/Observation.r",), "Observation", "read", True),
        (("system/Observation.r",), "Observation", "search", False),
        (("system/Observation.s",), "Observation", "read", False),
        (("system/Observation.s", "system/Patient.rs"), "Patient", "read", True),
        ((), "Patient", "read", False),
    ],
)
def test_scope_allows(scopes: tuple[str, ...], resource: str, interaction: Any, allowed: bool) -> None:
    p = SystemPrincipal(pk=None, client_id="c", organisation_id=None, scopes=scopes)  # type: ignore[arg-type]
    assert scope_allows(p, resource, interaction) is allowed


def test_scope_allows_staff_by_access_rules_alone(world: World) -> None:
    assert scope_allows(world.phil, "Patient")
    assert not scope_allows(None, "Patient")
    assert SYSTEM == "system" and principal(world.org_a).role == SYSTEM


def test_a_systems_reads_are_audited_by_client_id_and_bursts_counted_per_client(world: World, settings: Any) -> None:
    settings.AUDIT_DENIED_BURST = 2
    system = principal(world.org_a)
    other = SystemPrincipal(pk=world.org_a.pk, client_id="other", organisation_id=world.org_a.pk, scopes=())
    audit_record(actor=system, action="read", resource="patient", patient_ids=[world.ann.pk])
    row = AuditEvent.objects.get()
    assert (row.actor, row.actor_role, row.actor_client, row.patient_id) == (None, SYSTEM, "c", world.ann.pk)
    audit_denied(actor=system, resource="patient", requested_id="x")
    audit_denied(actor=other, resource="patient", requested_id="y")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.BURST).exists()  # one refusal each
    audit_denied(actor=system, resource="patient", requested_id="z")
    assert AuditEvent.objects.get(action=AuditEvent.Action.BURST).actor_client == "c"


def test_the_cleanup_job_forgets_expired_assertion_ids_and_tokens(world: World) -> None:
    _, client = get_token(world.org_a)
    get_token(world.org_a)
    assert FhirAssertionUse.objects.count() == 2 and FhirAccessToken.objects.count() == 2
    assert smart_cleanup() == {"assertion_ids_deleted": 0, "access_tokens_deleted": 0}
    FhirAccessToken.objects.filter(client=client).update(expires_at=timezone.now() - timedelta(seconds=1))
    FhirAssertionUse.objects.filter(client=client).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert smart_cleanup() == {"assertion_ids_deleted": 1, "access_tokens_deleted": 1}
    assert FhirAccessToken.objects.count() == 1 and FhirAssertionUse.objects.count() == 1


def test_the_cleanup_job_is_scheduled(settings: Any) -> None:
    assert settings.CELERY_BEAT_SCHEDULE["fhir_smart_cleanup"]["task"] == "fhir.smart_cleanup"


def test_query_counts_do_not_grow_with_clients_tokens_or_spent_assertions(world: World, probe_urls: None) -> None:
    key = signing_key("RS384")
    for n in range(5):  # other clients, their spent assertions and live tokens
        other = register(world.org_b, key, name=f"other {n}")
        assert form_post(token_request(assertion(other, key))).status_code == 200
    client = register(world.org_a, key)
    with CaptureQueriesContext(connection) as ctx:
        response = form_post(token_request(assertion(client, key)))
    assert response.status_code == 200
    # The client; the jti insert in its savepoint (3); the token insert.
    assert len(ctx.captured_queries) <= 5, [q["sql"] for q in ctx.captured_queries]
    api = bearer(response.json()["access_token"])
    with CaptureQueriesContext(connection) as ctx:
        assert api.get("/probe/patients/").status_code == 200
    assert len(ctx.captured_queries) == 2  # the token with its client; the patients
