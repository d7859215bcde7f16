"""SMART Backend Services: the token endpoint, with keys generated here (RS384 and ES384)."""

import base64
import json
import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from apps.fhir.auth import hash_token
from apps.fhir.models import FhirAccessToken, FhirAssertionUse
from tests.conftest import World
from tests.fhir.smart_helpers import (
    TOKEN_PATH,
    TOKEN_URL,
    assertion,
    form_post,
    register,
    signing_key,
    token_request,
)

pytestmark = pytest.mark.django_db


def post(data: dict[str, str]) -> tuple[int, dict[str, object]]:
    response = form_post(data)
    return response.status_code, response.json()


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_a_signed_assertion_gets_a_short_lived_token_for_the_clients_organisation(world: World, alg: str) -> None:
    key = signing_key(alg)
    client = register(world.org_a, key)
    response = form_post(token_request(assertion(client, key)))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "system/*.read"
    assert response["Cache-Control"] == "no-store"
    row = FhirAccessToken.objects.get()
    assert row.token_hash == hash_token(body["access_token"]) != body["access_token"]  # only the hash is stored
    assert row.client == client and row.organisation == world.org_a
    assert timedelta(seconds=299) < row.expires_at - timezone.now() <= timedelta(seconds=300)


def test_scopes_v1_and_v2_per_type_are_granted_as_asked(world: World) -> None:
    key = signing_key("ES384")
    client = register(world.org_a, key)
    status, body = post(
        token_request(assertion(client, key), scope="system/Patient.read system/Observation.rs system/Patient.read")
    )
    assert status == 200
    assert body["scope"] == "system/Patient.read system/Observation.rs"


@pytest.mark.parametrize(
    "scope",
    [
        "system/*.write",
        "system/*.*",
        "system/*.cruds",
        "patient/*.read",
        "user/Observation.read",
        "system/*.read launch",
        "system/Observation.rs?category=laboratory",
        "openid",
    ],
)
def test_scopes_outside_system_reads_are_refused(world: World, scope: str) -> None:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    status, body = post(token_request(assertion(client, key), scope=scope))
    assert (status, body["error"]) == (400, "invalid_scope")
    assert not FhirAccessToken.objects.exists()


def test_a_replayed_assertion_is_refused(world: World) -> None:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    signed = assertion(client, key, jti="once-only")
    assert post(token_request(signed))[0] == 200
    status, body = post(token_request(signed))
    assert (status, body["error"]) == (401, "invalid_client")
    assert "already been used" in str(body["error_description"])
    # The same jti in a freshly signed assertion is a replay too.
    status, _ = post(token_request(assertion(client, key, jti="once-only")))
    assert status == 401
    assert FhirAccessToken.objects.count() == 1
    assert FhirAssertionUse.objects.get().jti == "once-only"


def test_another_clients_jti_is_its_own(world: World) -> None:
    key = signing_key("RS384")
    first, second = register(world.org_a, key, name="one"), register(world.org_b, key, name="two")
    assert post(token_request(assertion(first, key, jti="shared")))[0] == 200
    assert post(token_request(assertion(second, key, jti="shared")))[0] == 200


@pytest.mark.parametrize(("lifetime", "status"), [(300, 200), (301, 401), (3600, 401), (-1, 401)])
def test_the_assertion_expires_within_five_minutes(world: World, lifetime: int, status: int) -> None:
    key = signing_key("ES384")
    client = register(world.org_a, key)
    with time_machine.travel(time.time(), tick=False):
        code, body = post(token_request(assertion(client, key, lifetime=lifetime)))
    assert code == status, body
    if status == 401:
        assert body["error"] == "invalid_client"


@pytest.mark.parametrize(
    "aud", ["http://testserver/fhir/R4/auth/token/", "https://evil.example/fhir/R4/auth/token", "http://testserver/"]
)
def test_a_wrong_audience_is_refused(world: World, aud: str) -> None:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    status, body = post(token_request(assertion(client, key, aud=aud)))
    assert (status, body["error"]) == (401, "invalid_client")
    assert TOKEN_URL in str(body["error_description"])


def test_the_audience_follows_fhir_token_url(world: World, settings: object) -> None:
    settings.FHIR_TOKEN_URL = "https://bonesync.example/fhir/R4/auth/token"  # type: ignore[attr-defined]
    key = signing_key("RS384")
    client = register(world.org_a, key)
    assert post(token_request(assertion(client, key)))[0] == 401
    assert post(token_request(assertion(client, key, aud="https://bonesync.example/fhir/R4/auth/token")))[0] == 200


def test_an_unknown_kid_is_refused(world: World) -> None:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    status, body = post(token_request(assertion(client, key, headers={"kid": "not-registered"})))
    assert (status, body["error"]) == (401, "invalid_client")


def test_a_key_of_someone_else_under_a_registered_kid_fails_the_signature(world: World) -> None:
    registered = signing_key("RS384")
    impostor = signing_key("RS384", kid="impostor")
    client = register(world.org_a, registered)
    forged = assertion(client, impostor, headers={"kid": registered.kid})
    status, body = post(token_request(forged))
    assert (status, body["error"]) == (401, "invalid_client")
    assert "signature" in str(body["error_description"])


def test_a_tampered_assertion_fails_the_signature(world: World) -> None:
    key = signing_key("ES384")
    client = register(world.org_a, key)
    header, payload, signature = assertion(client, key).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] += 60
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert post(token_request(f"{header}.{payload}.{signature}"))[0] == 401


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_and_hs256_are_refused(world: World) -> None:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    claims = {"iss": client.client_id, "sub": client.client_id, "aud": TOKEN_URL, "exp": int(time.time()) + 60}
    unsigned = f"{_b64({'alg': 'none', 'kid': key.kid})}.{_b64({**claims, 'jti': 'a'})}."
    status, body = post(token_request(unsigned))
    assert (status, body["error"]) == (401, "invalid_client")
    # HS256 keyed with the public key's modulus (the classic key-confusion attack).
    hs = jwt.encode({**claims, "jti": "b"}, key.public_jwk["n"], algorithm="HS256", headers={"kid": key.kid})
    status, body = post(token_request(hs))
    assert (status, body["error"]) == (401, "invalid_client")
    # RS384 named for an EC key: the key does not do that algorithm.
    ec_key = signing_key("ES384")
    client2 = register(world.org_a, ec_key)
    rs_under_ec_kid = assertion(client2, signing_key("RS384"), headers={"kid": ec_key.kid})
    assert post(token_request(rs_under_ec_kid))[0] == 401
    assert not FhirAccessToken.objects.exists()


def test_an_unknown_or_deactivated_client_is_refused(world: World) -> None:
    key = signing_key("RS384")
    status, body = post(token_request(assertion("no-such-client", key)))
    assert (status, body["error"]) == (401, "invalid_client")
    client = register(world.org_a, key)
    client.is_active = False
    client.save()
    status, body = post(token_request(assertion(client, key)))
    assert (status, body["error"]) == (401, "invalid_client")


@pytest.mark.parametrize("missing", ["iss", "sub", "aud", "exp", "jti"])
def test_every_required_claim_is_required(world: World, missing: str) -> None:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    claims: dict[str, Any] = {missing: None}
    if missing == "iss":
        claims["sub"] = client.client_id
    signed = assertion(client, key, **claims)
    if missing == "jti":
        payload = json.loads(base64.urlsafe_b64decode(signed.split(".")[1] + "=="))
        payload.pop("jti")
        signed = jwt.encode(payload, key.private, algorithm="RS384", headers={"kid": key.kid})
    status, body = post(token_request(signed))
    assert (status, body["error"]) == (401, "invalid_client")


def test_sub_must_equal_iss(world: World) -> None:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    assert post(token_request(assertion(client, key, sub="someone-else")))[0] == 401


def test_a_client_id_parameter_must_match_the_assertion(world: World) -> None:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    assert post(token_request(assertion(client, key), client_id="other"))[0] == 401
    assert post(token_request(assertion(client, key), client_id=client.client_id))[0] == 200


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
        ({"grant_type": ""}, "invalid_request"),
        ({"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}, "invalid_request"),
        ({"client_assertion": ""}, "invalid_request"),
        ({"scope": ""}, "invalid_request"),
        ({"client_assertion": "not-a-jwt"}, "invalid_client"),
    ],
)
def test_malformed_requests(world: World, change: dict[str, str], error: str) -> None:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    status, body = post({**token_request(assertion(client, key)), **change})
    assert body["error"] == error
    assert status == (401 if error == "invalid_client" else 400)
    assert body["error_description"]


def test_json_bodies_and_gets_are_refused_without_a_500(world: World) -> None:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    response = Client().post(TOKEN_PATH, token_request(assertion(client, key)), content_type="application/json")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    response = Client().post(TOKEN_PATH, token_request(assertion(client, key)))  # multipart
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert Client().get(TOKEN_PATH).status_code == 405


def test_the_smart_configuration_advertises_the_token_endpoint(world: World) -> None:
    response = Client().get("/fhir/R4/.well-known/smart-configuration")
    assert response.status_code == 200
    body = response.json()
    assert body["token_endpoint"] == TOKEN_URL
    assert body["grant_types_supported"] == ["client_credentials"]
    assert body["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert body["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert "system/*.read" in body["scopes_supported"]
    assert "client-confidential-asymmetric" in body["capabilities"]


def test_the_token_lifetime_is_a_setting(world: World, settings: object) -> None:
    settings.FHIR_ACCESS_TOKEN_SECONDS = 120  # type: ignore[attr-defined]
    key = signing_key("RS384")
    client = register(world.org_a, key)
    status, body = post(token_request(assertion(client, key)))
    assert (status, body["expires_in"]) == (200, 120)


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        ({"alg": ["RS384"], "kid": "k"}, {}),
        ({"alg": "RS384", "kid": {"a": 1}}, {}),
        ({"alg": "RS384", "kid": "rs384-key"}, {"iss": ["x"], "sub": ["x"]}),
        ({"alg": "RS384", "kid": "rs384-key"}, {"exp": "soon"}),
        ({"alg": "RS384", "kid": "rs384-key"}, {"exp": 1e300}),
        ({"alg": "RS384", "kid": "rs384-key"}, {"jti": 7}),
        ({"alg": "RS384", "kid": "rs384-key"}, {"jti": "x" * 256}),
        ({"alg": "RS384", "kid": "rs384-key"}, {"aud": [TOKEN_URL, 5]}),
    ],
)
def test_odd_headers_and_claims_are_refused_without_a_500(
    world: World, header: dict[str, Any], claims: dict[str, Any]
) -> None:
    key = signing_key("RS384")
    client = register(world.org_a, key)
    base = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": TOKEN_URL,
        "exp": int(time.time()) + 60,
        "jti": "j",
    }
    body = _b64({**base, **claims})
    signature = base64.urlsafe_b64encode(b"\0" * 64).rstrip(b"=").decode()
    signed = f"{_b64({'typ': 'JWT', **header})}.{body}.{signature}"
    if header.get("kid") == key.kid and header.get("alg") == "RS384":  # a real signature over the odd claims
        signed = jwt.api_jws.encode(json.dumps({**base, **claims}).encode(), key.private, "RS384", {"kid": key.kid})
    status, response = post(token_request(signed))
    assert (status, response["error"]) == (401, "invalid_client")
    assert not FhirAccessToken.objects.exists()


@pytest.mark.parametrize("iss", ["a\x00", "\x00", "x" * 65, "é"], ids=["nul-suffix", "nul", "too-long", "accent"])
def test_an_iss_that_cannot_be_a_client_id_is_an_invalid_client_not_a_500(world: World, iss: str) -> None:
    """Review: the unverified iss reached the database, and PostgreSQL refuses a NUL in text (a 500)."""
    signed = assertion(iss, signing_key("ES384"), sub=iss)
    response = form_post(token_request(signed))
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
