"""FHIR Bulk Data export over HTTP (apps.fhir.bulk has the logic): the kick-off, the status URL its 202 names, the
files the manifest lists. Same authentication, scope and OperationOutcome errors as the read API (FhirView)."""

from typing import Any
from uuid import UUID

from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import re_path
from django.utils import timezone
from django.utils.http import http_date
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from apps.accounts.models import Organisation
from apps.fhir.auth import request_principal
from apps.fhir.bulk import (
    RETRY_AFTER_SECONDS,
    ExportBusyError,
    ExportRequestError,
    export_cancel,
    export_start,
    is_requester,
    parse_kickoff,
    storage,
)
from apps.fhir.bulk_models import ExportFile, ExportJob, ExportLevel, ExportStatus
from apps.fhir.registry import as_uuid, instant
from apps.fhir.resources.group import group_rows
from apps.fhir.views import (
    FhirError,
    FhirView,
    _audit_actor,
    base_url,
    fhir_response,
    operation_outcome,
    outcome_response,
)
from backend.access import NotInScope
from backend.audit import audit_record
from backend.models import AuditEvent
from backend.roles import Role

NDJSON = "application/fhir+ndjson"


def status_url(request: Request, job: ExportJob) -> str:
    return f"{base_url(request)}bulk/{job.pk}"


@extend_schema(exclude=True)  # described by the CapabilityStatement, not OpenAPI
class ExportKickoffView(FhirView):
    """`GET Group/<organisation id>/$export` and `GET Patient/$export` (Bulk Data 2.0 kick-off): 202 and the status
    URL in Content-Location."""

    def get(self, request: Request, group_id: str | None = None) -> HttpResponse:
        principal = request_principal(request)
        organisation: Organisation | None = None
        if group_id is not None:
            organisation = self._group(request, group_id)
            level = ExportLevel.GROUP
        else:
            if principal.role == Role.PATIENT:
                raise FhirError(403, "forbidden", "Bulk export is for care teams and clinics' systems.")
            level = ExportLevel.PATIENT
        try:
            export = parse_kickoff(
                {name: request.query_params.getlist(name) for name in request.query_params},
                request.headers.get("Prefer", ""),
                principal,
            )
        except ExportRequestError as exc:
            raise FhirError(exc.status, exc.code, exc.message) from exc
        try:
            job = export_start(
                principal=principal,
                level=level,
                organisation=organisation,
                request_url=request.build_absolute_uri(),
                export=export,
            )
        except ExportBusyError:
            response = outcome_response(
                429, "throttled", "An export of yours is queued or running: wait for it (or cancel it) first."
            )
            response["Retry-After"] = "60"
            return response
        response = outcome_response_info(f"Export {job.pk} accepted; poll the Content-Location URL.")
        response["Content-Location"] = status_url(request, job)
        return response

    def _group(self, request: Request, group_id: str) -> Organisation:
        """The caller's Group (her organisation; any for an admin): another organisation's id is a 404, audited."""
        pk = as_uuid(group_id)
        organisation = group_rows(request_principal(request)).filter(pk=pk).first() if pk else None
        if organisation is not None:
            return organisation
        if pk is not None and Organisation.objects.filter(pk=pk).exists():
            raise NotInScope(resource="fhir_group", requested_id=group_id)
        raise Http404


def outcome_response_info(message: str) -> HttpResponse:
    body = operation_outcome("informational", message, severity="information")
    return fhir_response(body, status=202)


def requested_job(request: Request, job_id: str) -> ExportJob:
    """The requester's own job, not cancelled nor expired; anything else is a 404 (another's id is audited)."""
    pk = as_uuid(job_id)
    job = ExportJob.objects.filter(pk=pk).first() if pk else None
    if job is None:
        raise Http404
    if not is_requester(job, request_principal(request)):
        raise NotInScope(resource="fhir_export", requested_id=job_id)
    expired = job.expires_at is not None and job.expires_at <= timezone.now()
    if job.status == ExportStatus.CANCELLED or expired:
        raise Http404
    return job


@extend_schema(exclude=True)  # described by the CapabilityStatement, not OpenAPI
class ExportStatusView(FhirView):
    """The status URL: 202 with X-Progress while the export runs, 200 and the manifest once complete, 500 with an
    OperationOutcome if it failed; DELETE cancels it (202), after which it is a 404."""

    def get(self, request: Request, job_id: UUID | str) -> HttpResponse:
        job = requested_job(request, str(job_id))
        if job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING):
            response = HttpResponse(status=202)
            response["X-Progress"] = job.progress or "queued"
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        if job.status == ExportStatus.FAILED:
            return outcome_response(500, "exception", f"The export failed: {job.error or 'unknown error'}")
        files = list(ExportFile.objects.filter(job=job))
        base = status_url(request, job)

        def entry(file: ExportFile) -> dict[str, Any]:
            return {"type": file.resource_type, "url": f"{base}/{file.name}", "count": file.count}

        manifest = {
            "transactionTime": instant(job.transaction_time) if job.transaction_time else None,
            "request": job.request_url,
            "requiresAccessToken": True,
            "output": [entry(f) for f in files if not f.is_error],
            "error": [entry(f) for f in files if f.is_error],
        }
        response = JsonResponse(manifest, status=200)
        if job.expires_at is not None:
            response["Expires"] = http_date(job.expires_at.timestamp())
        return response

    def delete(self, request: Request, job_id: UUID | str) -> HttpResponse:
        job = requested_job(request, str(job_id))
        export_cancel(job)
        return outcome_response_info(f"Export {job.pk} cancelled; its files are deleted.")


@extend_schema(exclude=True)  # described by the CapabilityStatement, not OpenAPI
class ExportFileView(FhirView):
    """One NDJSON file of a completed export, streamed, to its requester only; each download is audited."""

    def get(self, request: Request, job_id: str, file_name: str) -> HttpResponseBase:
        job = requested_job(request, job_id)
        file = ExportFile.objects.filter(job=job, name=file_name).first() if job.status == "completed" else None
        if file is None:
            raise Http404
        audit_record(
            actor=_audit_actor(request.user),
            action=AuditEvent.Action.READ,
            resource="fhir_export_file",
            patient_ids=[None],
            object_id=f"{file.pk}",
            request=request,
        )
        return FileResponse(storage().open(file.storage_name, "rb"), content_type=NDJSON)


bulk_urlpatterns = [
    re_path(
        r"^Group/(?P<group_id>[A-Za-z0-9\-.]{1,64})/\$export$", ExportKickoffView.as_view(), name="fhir-export-group"
    ),
    re_path(r"^Patient/\$export$", ExportKickoffView.as_view(), name="fhir-export-patient"),
    re_path(r"^bulk/(?P<job_id>[0-9a-f\-]{36})$", ExportStatusView.as_view(), name="fhir-export-status"),
    re_path(
        r"^bulk/(?P<job_id>[0-9a-f\-]{36})/(?P<file_name>[A-Za-z]{1,64}-[0-9]{1,6}\.ndjson)$",
        ExportFileView.as_view(),
        name="fhir-export-file",
    ),
]
