"""`POST /fhir/R4/`: a transaction Bundle of Observations (DXA T-scores, labs) imported all or nothing (issue 16).

Who: staff who may record DXA results and labs through the REST API (apps.profiles.api.STAFF_WRITERS: coordinators
for their patients, pharmacists for their organisation's, admins), and SMART system clients whose token has
`system/Observation.write` (v1) or a v2 scope with `c` (`system/Observation.c`, `.cruds`, `system/*.c`...). Patients
are refused (403). The answer is a `transaction-response` Bundle (one entry per entry: `201 Created` or `200 OK`
for a duplicate, with `location` Observation/<id>), or an OperationOutcome naming every bad entry, nothing written.
Parsing: apps.fhir.importing; writing: apps.fhir.import_service.
"""

import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from apps.accounts.models import User
from apps.fhir.auth import SystemPrincipal, request_principal, scope_allows
from apps.fhir.import_service import ImportRefusedError, observations_import
from apps.fhir.importing import BundleRefusedError, Issue, parse_bundle
from apps.fhir.views import FhirError, NotSupportedView, fhir_response
from apps.profiles.api import STAFF_WRITERS

MAX_BODY_BYTES = 2_000_000  # about 1,000 entries of a verbose EHR's Observations; below Django's 2.5 MB cap
CONTENT_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


def issues_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": issue.code,
                "diagnostics": f"{issue.expression}: {issue.diagnostics}",
                "expression": [issue.expression],
            }
            for issue in issues
        ],
    }


@extend_schema(exclude=True)  # described by the CapabilityStatement, not OpenAPI
class TransactionView(NotSupportedView):
    """GET of the base stays the catch-all's 404; POST is the transaction."""

    def post(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        principal = request_principal(request)
        if isinstance(principal, SystemPrincipal):
            if not scope_allows(principal, "Observation", "create"):
                raise FhirError(403, "forbidden", "The token's scopes do not cover creating Observations.")
        elif not isinstance(principal, User) or principal.role not in STAFF_WRITERS:
            raise FhirError(403, "forbidden", "You may not record results.")
        data = self._body(request)
        try:
            entries, issues = parse_bundle(data)
        except BundleRefusedError as refused:
            return fhir_response(issues_outcome([refused.issue]), status=refused.status)
        try:
            results = observations_import(actor=principal, entries=entries, refused=issues, request=request)
        except ImportRefusedError as refused:
            return fhir_response(issues_outcome(refused.issues), status=refused.status)
        return fhir_response(
            {
                "resourceType": "Bundle",
                "type": "transaction-response",
                "entry": [{"response": {"status": r.status, "location": r.location}} for r in results],
            }
        )

    def _body(self, request: Request) -> Any:
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type not in CONTENT_TYPES:
            raise FhirError(415, "not-supported", "Send the Bundle as application/fhir+json.")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        too_big = FhirError(413, "too-costly", f"The body is larger than {MAX_BODY_BYTES:,} bytes; split the Bundle.")
        if length > MAX_BODY_BYTES:
            raise too_big
        try:
            body = request._request.body
        except RequestDataTooBig as exc:
            raise too_big from exc
        if len(body) > MAX_BODY_BYTES:
            raise too_big
        try:
            return json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise FhirError(400, "structure", "The body is not JSON.") from exc


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")
