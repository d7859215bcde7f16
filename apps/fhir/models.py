"""SMART Backend Services (issue 16): the registered systems (an EHR integration per organisation), the client
assertions they have spent, and the short-lived access tokens they were given."""

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.accounts.models import Organisation
from apps.fhir.bulk_models import ExportFile, ExportJob  # noqa: F401  (Bulk Data export: its own module)
from backend.models import BaseModel

# The JWS algorithms SMART asks servers to support for client assertions (SMART App Launch 2.x, "Client
# Authentication: Asymmetric"): RS384 on an RSA key, ES384 on an EC P-384 key. Nothing else is accepted.
ASSERTION_ALGORITHMS = ("RS384", "ES384")
# Members that exist only in private JWKs (RFC 7518 §6.2.2 / §6.3.2, and `k` for symmetric keys): a registered
# key set holding any of them has leaked a secret and is refused.
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048


def new_client_id() -> str:
    return secrets.token_urlsafe(24)


def validate_public_jwks(jwks: Any) -> None:
    """A JWK Set of public RS384/ES384 signing keys, each with a distinct `kid`; ValidationError saying what is
    wrong otherwise (a private key above all)."""
    import jwt  # PyJWT, a dependency already (see apps/fhir/token.py)

    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ValidationError('A JWK Set is a JSON object with a non-empty "keys" list.')
    kids: set[str] = set()
    for index, key in enumerate(jwks["keys"]):
        where = f"Key {index + 1}"
        if not isinstance(key, dict):
            raise ValidationError(f"{where} is not a JSON object.")
        private = sorted(PRIVATE_JWK_MEMBERS & key.keys())
        if private:
            raise ValidationError(
                f"{where} is a private key (it has {', '.join(private)}): register the public key only."
            )
        kid = key.get("kid")
        if not isinstance(kid, str) or not kid.strip():
            raise ValidationError(f'{where} has no "kid": the client names its key in each assertion\'s header.')
        if kid in kids:
            raise ValidationError(f'{where}: the "kid" {kid!r} is used twice.')
        kids.add(kid)
        kty = key.get("kty")
        if kty == "RSA":
            algorithm = "RS384"
        elif kty == "EC" and key.get("crv") == "P-384":
            algorithm = "ES384"
        else:
            raise ValidationError(f"{where} must be an RSA key (RS384) or an EC P-384 key (ES384).")
        if key.get("alg", algorithm) != algorithm:
            raise ValidationError(f"{where}: alg {key.get('alg')!r} is not {algorithm}.")
        try:
            loaded = jwt.PyJWK(key, algorithm=algorithm)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            raise ValidationError(f"{where} is not a valid {kty} public key: {exc}") from exc
        if kty == "RSA" and getattr(loaded.key, "key_size", 0) < MIN_RSA_BITS:
            raise ValidationError(f"{where}: an RSA key has at least {MIN_RSA_BITS} bits.")


class FhirClient(BaseModel):
    """A backend system allowed to read one organisation's data through the FHIR API. It proves who it is with a
    JWT signed by one of the keys registered here (public keys only)."""

    client_id = models.CharField(max_length=64, unique=True, default=new_client_id, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="fhir_clients")
    name = models.CharField(max_length=200, blank=True)
    jwks = models.JSONField(validators=[validate_public_jwks], help_text="Public JWK Set (RS384 or ES384 keys).")
    is_active = models.BooleanField(default=True)
    # May it ask for write scopes (system/Observation.write, .c): the Observation import (issue 16). Read-only unless
    # registered so.
    allow_write = models.BooleanField(
        default=False, help_text="May request write scopes (import Observations); read-only otherwise."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["organisation", "name", "created_at"]
        verbose_name = "FHIR client"

    def __str__(self) -> str:
        return f"{self.name or self.client_id} ({self.organisation})"

    def jwk(self, kid: str) -> dict[str, Any] | None:
        keys = self.jwks.get("keys", []) if isinstance(self.jwks, dict) else []
        return next((k for k in keys if isinstance(k, dict) and k.get("kid") == kid), None)


class FhirAssertionUse(models.Model):
    """A client assertion's `jti`, kept until the assertion expires: the unique constraint refuses a replay even
    when two requests race (an assertion past its `exp` is refused anyway, so the row can go then)."""

    id = models.BigAutoField(primary_key=True)
    client = models.ForeignKey(FhirClient, on_delete=models.CASCADE, related_name="assertion_uses")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "jti"], name="fhir_assertion_jti_unique")]

    def __str__(self) -> str:
        return f"{self.jti} (until {self.expires_at:%Y-%m-%d %H:%M})"


class FhirAccessToken(models.Model):
    """An access token issued to a client: only its SHA-256 is stored (the token itself is random, 256 bits, so a
    plain hash is enough). Limited to the client's organisation and the granted scopes, and short-lived."""

    id = models.BigAutoField(primary_key=True)
    token_hash = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(FhirClient, on_delete=models.CASCADE, related_name="access_tokens")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    scopes = models.CharField(max_length=1000)  # granted scopes, space-separated as in the token response
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        # Never the token (it is not stored) nor its hash.
        return f"token of {self.client_id} until {self.expires_at:%Y-%m-%d %H:%M}"
