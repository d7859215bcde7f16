"""Registering a backend system: `manage.py fhir_client_create` and the admin."""

import json
from io import StringIO
from pathlib import Path
from unittest.mock import patch

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from jwt.algorithms import RSAAlgorithm

from apps.fhir.models import FhirClient, validate_public_jwks
from tests.conftest import World
from tests.fhir.smart_helpers import assertion, form_post, signing_key, token_request

pytestmark = pytest.mark.django_db


def jwks_file(tmp_path: Path, content: object) -> str:
    path = tmp_path / "jwks.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_the_command_registers_a_client_that_can_get_a_token(world: World, tmp_path: Path) -> None:
    rs, es = signing_key("RS384"), signing_key("ES384")
    out = StringIO()
    call_command(
        "fhir_client_create",
        organisation=str(world.org_a.pk),
        jwks_file=jwks_file(tmp_path, {"keys": [rs.public_jwk, es.public_jwk]}),
        name="North EHR",
        stdout=out,
    )
    client = FhirClient.objects.get()
    assert (client.organisation, client.name, client.is_active) == (world.org_a, "North EHR", True)
    assert f"client_id: {client.client_id}" in out.getvalue()
    assert "/fhir/R4/auth/token" in out.getvalue()
    assert form_post(token_request(assertion(client, es))).status_code == 200


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ({"keys": []}, "non-empty"),
        ([], "non-empty"),
        ({"keys": [{"kty": "RSA"}]}, "kid"),
        ({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}, "private key"),
        ({"keys": [{"kty": "EC", "crv": "P-256", "kid": "e", "x": "AA", "y": "AA"}]}, "P-384"),
        ({"keys": [{"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"}]}, "not a valid RSA public key"),
    ],
)
def test_bad_key_sets_are_refused_and_nothing_is_created(
    world: World, tmp_path: Path, content: object, message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("fhir_client_create", organisation=str(world.org_a.pk), jwks_file=jwks_file(tmp_path, content))
    assert not FhirClient.objects.exists()


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_a_private_key_is_refused(world: World, tmp_path: Path, alg: str) -> None:
    with pytest.raises(CommandError, match="private key"):
        call_command(
            "fhir_client_create",
            organisation=str(world.org_a.pk),
            jwks_file=jwks_file(tmp_path, {"keys": [signing_key(alg).private_jwk]}),
        )
    assert not FhirClient.objects.exists()


def test_duplicate_kids_and_wrong_alg_are_refused() -> None:
    rs = signing_key("RS384")
    with pytest.raises(ValidationError, match="twice"):
        validate_public_jwks({"keys": [rs.public_jwk, rs.public_jwk]})
    with pytest.raises(ValidationError, match="RS256"):
        validate_public_jwks({"keys": [{**rs.public_jwk, "alg": "RS256"}]})
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the refusal under test
    small = json.loads(RSAAlgorithm.to_jwk(weak.public_key()))
    with pytest.raises(ValidationError, match="2048 bits"):
        validate_public_jwks({"keys": [{**small, "kid": "small"}]})
    validate_public_jwks({"keys": [rs.public_jwk]})


@pytest.mark.parametrize("organisation", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_an_unknown_organisation_is_refused(world: World, tmp_path: Path, organisation: str) -> None:
    path = jwks_file(tmp_path, {"keys": [signing_key("RS384").public_jwk]})
    with pytest.raises(CommandError, match="No organisation"):
        call_command("fhir_client_create", organisation=organisation, jwks_file=path)
    assert not FhirClient.objects.exists()


def test_a_missing_file_is_refused(world: World, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("fhir_client_create", organisation=str(world.org_a.pk), jwks_file=str(tmp_path / "none.json"))


def test_the_admin_keeps_keys_read_only_and_deactivates(world: World) -> None:
    model_admin = admin.site._registry[FhirClient]
    request = RequestFactory().get("/admin/")
    request.user = world.admin
    client = FhirClient.objects.create(organisation=world.org_a, jwks={"keys": [signing_key("RS384").public_jwk]})
    assert {"jwks", "organisation", "client_id"} <= set(model_admin.get_readonly_fields(request, client))
    assert "jwks" not in model_admin.get_readonly_fields(request, None)  # given when registering
    assert not model_admin.has_delete_permission(request, client)
    with patch.object(model_admin, "message_user"):
        model_admin.deactivate(request, FhirClient.objects.all())  # type: ignore[attr-defined]
    client.refresh_from_db()
    assert not client.is_active


def test_the_admin_form_refuses_a_private_key(world: World) -> None:
    model_admin = admin.site._registry[FhirClient]
    request = RequestFactory().get("/admin/")
    request.user = world.admin
    form_class = model_admin.get_form(request, None)
    form = form_class(
        data={
            "organisation": str(world.org_a.pk),
            "name": "x",
            "jwks": json.dumps({"keys": [signing_key("ES384").private_jwk]}),
            "is_active": "on",
        }
    )
    assert not form.is_valid()
    assert "private key" in str(form.errors["jwks"])
