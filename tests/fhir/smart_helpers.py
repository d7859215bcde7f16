"""Keys generated in the test run, a registered client, and signed client assertions (SMART Backend Services)."""

import json
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from apps.accounts.models import Organisation
from apps.fhir.models import FhirClient

TOKEN_PATH = "/fhir/R4/auth/token"
TOKEN_URL = f"http://testserver{TOKEN_PATH}"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class SigningKey:
    alg: str
    kid: str
    private: Any
    public_jwk: dict[str, Any]
    private_jwk: dict[str, Any]


@lru_cache(maxsize=4)
def signing_key(alg: str, kid: str | None = None) -> SigningKey:
    if alg == "RS384":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
        private_jwk = json.loads(RSAAlgorithm.to_jwk(private))
    else:
        private = ec.generate_private_key(ec.SECP384R1())
        public_jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
        private_jwk = json.loads(ECAlgorithm.to_jwk(private))
    kid = kid or f"{alg.lower()}-key"
    public_jwk.update(kid=kid, alg=alg, use="sig")
    private_jwk.update(kid=kid, alg=alg)
    return SigningKey(alg, kid, private, public_jwk, private_jwk)


def register(organisation: Organisation, *keys: SigningKey, name: str = "EHR") -> FhirClient:
    keys = keys or (signing_key("RS384"), signing_key("ES384"))
    return FhirClient.objects.create(organisation=organisation, name=name, jwks={"keys": [k.public_jwk for k in keys]})


def assertion(
    client: FhirClient | str,
    key: SigningKey,
    *,
    aud: str = TOKEN_URL,
    lifetime: int = 240,
    jti: str | None = None,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    client_id = client if isinstance(client, str) else client.client_id
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "exp": now + lifetime,
        "jti": jti or secrets.token_hex(16),
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": key.kid, **(headers or {})})


def token_request(signed: str, scope: str = "system/*.read", **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        **extra,
    }


def form_post(data: dict[str, str], path: str = TOKEN_PATH) -> Any:
    """As OAuth clients post (RFC 6749 §4.4: application/x-www-form-urlencoded)."""
    return Client().post(path, urlencode(data), content_type="application/x-www-form-urlencoded")
