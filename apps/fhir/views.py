"""The FHIR R4 read API at /fhir/R4/: metadata, read and search over the registry, every error an OperationOutcome.

Authentication and scope are the REST API's: the same tokens (REST_FRAMEWORK's authentication classes) and the
access functions' scope in each registered queryset (an id out of scope is a 404, logged as `denied`). Every read
and search is audited per patient touched (resource `fhir_<type>`). The DRF OpenAPI schema leaves these views out:
the CapabilityStatement at /fhir/R4/metadata describes them.
"""

import json
import math
from typing import Any, cast
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count, Model, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication

from apps.accounts.models import User
from apps.fhir.auth import FhirSystemTokenAuthentication, SystemPrincipal, scope_allows
from apps.fhir.capability import capability_statement
from apps.fhir.jsonio import json_default
from apps.fhir.registry import REGISTRY, ResourceType, SearchError, Source, split_values
from backend.access import NotInScope, ScopedUser
from backend.audit import audit_denied, audit_record
from backend.errors import database_busy

FHIR_JSON = "application/fhir+json"
JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
DEFAULT_COUNT = 50
MAX_COUNT = 200
MAX_OFFSET = 10_000_000
# Parameters every search understands besides the registered ones.
RESULT_PARAMS = {"_count", "_offset", "_format", "_id"}
# The one write is the import (apps.fhir.transaction_views): a transaction Bundle POSTed to the base.
READ_ONLY = "Only GET is served here; Observations are imported by POSTing a transaction Bundle to the base."


class FhirError(Exception):
    """An error answered as an OperationOutcome with `status` and FHIR issue `code`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def fhir_response(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, default=json_default, ensure_ascii=False),
        status=status,
        content_type=f"{FHIR_JSON}; charset=utf-8",
    )


def operation_outcome(code: str, message: str, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


def outcome_response(status: int, code: str, message: str) -> HttpResponse:
    return fhir_response(operation_outcome(code, message), status=status)


def caller(request: Request) -> ScopedUser:
    """The authenticated caller (IsAuthenticated passed): an account, or a system client once SMART is added."""
    return cast(ScopedUser, request.user)


def _audit_actor(user: object) -> Any:
    """The audit log's actor: a signed-in account; a system client (SMART backend services) has none."""
    return user if isinstance(user, User | SystemPrincipal) else None


class FhirView(APIView):
    """Base: FHIR JSON whatever the Accept header says, OperationOutcome errors, writes refused with 405 (but the
    transaction at the base, apps.fhir.transaction_views)."""

    authentication_classes = [FhirSystemTokenAuthentication, JWTAuthentication]
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "head", "post", "put", "patch", "delete"]  # OPTIONS: 405 like the writes

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        # Only JSON is served; `_format` is checked per request (406 for anything else), never the Accept header
        # (EHRs send application/fhir+json, browsers */*).
        return JSONRenderer(), FHIR_JSON

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        fmt = request.query_params.get("_format")
        if fmt is not None and fmt not in JSON_FORMATS:
            raise FhirError(406, "not-supported", "Only JSON is served (_format=json or application/fhir+json).")

    def _write_refused(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        raise FhirError(405, "not-supported", READ_ONLY)

    post = put = patch = delete = _write_refused

    def handle_exception(self, exc: Exception) -> HttpResponse:  # type: ignore[override]  # FHIR JSON, not DRF's
        if isinstance(exc, FhirError):
            return outcome_response(exc.status, exc.code, exc.message)
        if isinstance(exc, SearchError):
            return outcome_response(400, "invalid", str(exc))
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            response = outcome_response(401, "login", "Authentication required: a valid bearer token.")
            response["WWW-Authenticate"] = 'Bearer realm="fhir"'
            return response
        if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
            return outcome_response(403, "forbidden", "You do not have permission to do this.")
        if isinstance(exc, (Http404, exceptions.NotFound)):
            if isinstance(exc, NotInScope):  # a refused lookup of patient data, logged like the API's
                audit_denied(
                    actor=_audit_actor(self.request.user),
                    resource=exc.resource,
                    requested_id=exc.requested_id,
                    request=self.request,
                )
            return outcome_response(404, "not-found", "Not found.")
        if isinstance(exc, exceptions.MethodNotAllowed):
            return outcome_response(405, "not-supported", READ_ONLY)
        if isinstance(exc, exceptions.Throttled):
            response = outcome_response(429, "throttled", "Too many requests.")
            wait = getattr(exc, "wait", None)
            if wait is not None:
                response["Retry-After"] = str(math.ceil(wait))  # "0" would invite an immediate retry
            return response
        if isinstance(exc, exceptions.APIException):
            return outcome_response(exc.status_code, "processing", str(exc.detail))
        if database_busy(exc):
            return outcome_response(503, "transient", "The server is busy; try again shortly.")
        raise exc


@extend_schema(exclude=True)  # described by the CapabilityStatement, not OpenAPI
class NotSupportedView(FhirView):
    """Anything under /fhir/R4/ that is not served (a path with more parts, an operation): 404 not-supported."""

    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        raise FhirError(404, "not-supported", "This interaction is not supported; see /fhir/R4/metadata.")


@extend_schema(exclude=True)  # described by the CapabilityStatement, not OpenAPI
class MetadataView(FhirView):
    """The CapabilityStatement; public, as FHIR expects (it names no data)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    def get(self, request: Request) -> HttpResponse:
        return fhir_response(capability_statement(base_url(request)))


def base_url(request: Request) -> str:
    return request.build_absolute_uri("/fhir/R4/")


def resource_type_or_404(name: str) -> ResourceType:
    resource_type = REGISTRY.get(name)
    if resource_type is None:
        raise FhirError(404, "not-supported", f"Resource type {name[:60]!r} is not supported; see /fhir/R4/metadata.")
    return resource_type


@extend_schema(exclude=True)  # described by the CapabilityStatement, not OpenAPI
class ReadView(FhirView):
    def get(self, request: Request, resource_type: str, resource_id: str) -> HttpResponse:
        rtype = resource_type_or_404(resource_type)
        if not scope_allows(request.user, rtype.name, "read"):
            raise FhirError(403, "forbidden", f"The token's scopes do not cover reading {rtype.name}.")
        if rtype.fixed is not None:  # a definition: no patient, nothing to audit
            for resource in rtype.fixed():
                if resource["id"] == resource_id:
                    return fhir_response(resource)
            raise Http404
        row, source, resource = self._find(request, rtype, resource_id)
        audit_record(
            actor=_audit_actor(request.user),
            action="read",
            resource=rtype.audit_resource,
            patient_ids=[source.patient_id(row)],
            object_id=resource_id,  # the resource's id (a CarePlan's names its table; a DetectedIssue's its finding)
            request=request,
        )
        return fhir_response(resource)

    def _find(self, request: Request, rtype: ResourceType, resource_id: str) -> tuple[Model, Source, dict[str, Any]]:
        candidates = [(source, pk) for source in rtype.sources if (pk := source.row_pk(resource_id)) is not None]
        if not candidates:
            raise Http404
        for source, pk in candidates:
            row = source.rows(caller(request)).filter(pk=pk).first()
            if row is not None:
                # The row's resource with this id (a row with several: the n-th may not exist, a plain 404).
                for resource in source.resources(row):
                    if resource.get("id") == resource_id:
                        return row, source, resource
                raise Http404
        # Not in scope: logged as denied if it exists somewhere (an id of another patient), else a plain 404.
        for source, pk in candidates:
            if source.rows(caller(request)).model._default_manager.filter(pk=pk).exists():
                raise NotInScope(resource=rtype.audit_resource, requested_id=resource_id)
        raise Http404


def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise SearchError(f"{name} must be a non-negative integer, not {raw[:40]!r}")
    return min(int(raw), maximum)


@extend_schema(exclude=True)  # described by the CapabilityStatement, not OpenAPI
class SearchView(FhirView):
    def get(self, request: Request, resource_type: str) -> HttpResponse:
        rtype = resource_type_or_404(resource_type)
        if not scope_allows(request.user, rtype.name, "search"):
            raise FhirError(403, "forbidden", f"The token's scopes do not cover searching {rtype.name}.")
        count = _int_param(request, "_count", DEFAULT_COUNT, MAX_COUNT)
        offset = _int_param(request, "_offset", 0, MAX_OFFSET)
        strict = "handling=strict" in request.headers.get("Prefer", "").replace(" ", "").lower()
        used: list[tuple[str, str]] = []  # the parameters applied, for the self and next links
        ignored: list[str] = []
        criteria: dict[str, list[str]] = {}
        for name in request.query_params:
            values = request.query_params.getlist(name)
            if name in rtype.params or name == "_id":
                criteria[name] = values
                used.extend((name, value) for value in values)
            elif name not in RESULT_PARAMS:
                ignored.append(name)
        if ignored and strict:
            raise FhirError(
                400, "not-supported", f"Unknown or unsupported search parameter(s): {', '.join(ignored)[:200]}"
            )

        fixed = list(rtype.fixed()) if rtype.fixed is not None else []
        for id_value in criteria.get("_id", []) if fixed else []:  # each occurrence ANDs
            fixed = [resource for resource in fixed if resource["id"] in split_values([id_value])]
        querysets = []
        for source in rtype.sources:
            queryset = source.rows(caller(request))
            for name, values in criteria.items():
                if name == "_id":
                    queryset = queryset.filter(source.ids_q(values))
                    continue
                apply = source.filters.get(name)
                queryset = queryset.filter(apply(values)) if apply is not None else queryset.none()
            querysets.append((source, queryset.order_by(*source.order)))

        # One count per source, then only the sources the page overlaps (constant queries per page). Pages and
        # offsets count rows; Bundle.total counts resources (a source with several per row sums their number).
        totals: list[int] = []
        total = 0
        for source, queryset in querysets:
            if source.per_row:
                sums = queryset.aggregate(rows=Count("pk"), resources=Coalesce(Sum(source.weight), 0))
                totals.append(sums["rows"])
                total += sums["resources"]
            else:
                totals.append(queryset.count())
                total += totals[-1]
        total += len(fixed)
        row_total = sum(totals) + len(fixed)
        matches = fixed[offset : offset + count]
        rows: list[tuple[Source, Model]] = []
        start = offset
        for (source, queryset), size in zip(querysets, totals, strict=True):
            if count and start < size and len(rows) < count:
                rows.extend((source, row) for row in queryset[start : start + count - len(rows)])
            start = max(0, start - size)

        base = base_url(request)
        link = [{"relation": "self", "url": _page_url(base, rtype.name, used, count, offset)}]
        if count and offset + count < row_total:
            link.append({"relation": "next", "url": _page_url(base, rtype.name, used, count, offset + count)})
        matches += [resource for source, row in rows for resource in source.resources(row)]
        entries: list[dict[str, Any]] = [
            {"fullUrl": f"{base}{rtype.name}/{resource['id']}", "resource": resource, "search": {"mode": "match"}}
            for resource in matches
        ]
        if ignored:
            entries.append(
                {
                    "resource": operation_outcome(
                        "not-supported",
                        f"Ignored unknown or unsupported search parameter(s): {', '.join(ignored)[:200]}",
                        severity="warning",
                    ),
                    "search": {"mode": "outcome"},
                }
            )
        patient_ids = [source.patient_id(row) for source, row in rows]
        if patient_ids:
            audit_record(
                actor=_audit_actor(request.user),
                action="list",
                resource=rtype.audit_resource,
                patient_ids=patient_ids,
                request=request,
            )
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total, "link": link}
        if entries:
            bundle["entry"] = entries
        return fhir_response(bundle)


def _page_url(base: str, type_name: str, used: list[tuple[str, str]], count: int, offset: int) -> str:
    query = [*used, ("_count", str(count)), ("_offset", str(offset))]
    return f"{base}{type_name}?{urlencode(query)}"
