"""SMART Backend Services through the FHIR read API (issue 16, parts 1 and 2 together): a clinic's EHR signs an
assertion, gets a short-lived token for its organisation and reads within it; another organisation's patient is a
404 audited as the system; a token's scopes limit the types; the token opens nothing outside /fhir/R4/."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Organisation
from backend.models import AuditEvent
from tests.conftest import World
from tests.fhir.smart_helpers import assertion, form_post, register, signing_key, token_request

pytestmark = pytest.mark.django_db


def token(world: World, org: Organisation, scope: str = "system/*.read") -> str:
    key = signing_key("ES384")
    client = register(org, key)
    r = form_post(token_request(assertion(client, key), scope=scope))
    assert r.status_code == 200
    return r.json()["access_token"]


def test_an_ehr_reads_its_organisation_only_within_its_scopes(world: World) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token(world, world.org_a)}")
    r = api.get("/fhir/R4/Patient")
    assert r.status_code == 200, r.content
    ids = {e["resource"]["id"] for e in r.json().get("entry", [])}
    assert ids == {str(world.ann.pk), str(world.bea.pk)}
    assert api.get(f"/fhir/R4/Patient/{world.ann.pk}").status_code == 200
    assert api.get(f"/fhir/R4/Patient/{world.zoe.pk}").status_code == 404
    assert AuditEvent.objects.filter(actor_role="system", action="denied").count() == 1
    assert AuditEvent.objects.filter(actor_role="system", action="read").count() == 1
    assert api.get("/fhir/R4/metadata").status_code == 200
    obs_only = APIClient()
    obs_only.credentials(HTTP_AUTHORIZATION=f"Bearer {token(world, world.org_a, 'system/Observation.rs')}")
    assert obs_only.get("/fhir/R4/Patient").status_code == 403
    assert obs_only.get("/fhir/R4/Observation").status_code == 200
    assert api.get("/api/v1/patients/").status_code == 401
