"""FHIR Bulk Data export (HL7 FHIR Bulk Data Access 2.0; issue 16, part 3): what a kick-off may ask, the job it
starts, the worker that writes the NDJSON files, and the housekeeping that deletes them.

Flow: `GET Group/<org>/$export` or `Patient/$export` (apps.fhir.bulk_views) checks the request (`parse_kickoff`),
records an ExportJob (`export_start`) and enqueues `fhir.bulk_export` after commit. The task claims the job with a
conditional update (`run_export`), rebuilds the requester's scope (the same User, or the system client with the
scopes its token had), and for each type streams every Source's scoped rows (`.iterator()`, ordered) through the
read API's mappers into NDJSON files of at most FHIR_EXPORT_FILE_MAX_RESOURCES lines, written to a temporary file
and then saved to the `fhir_exports` storage. Between chunks it writes its progress (the poll's X-Progress), which
also tells it whether the job was cancelled, and audits the patients it exported (one insert per chunk).
"""

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from uuid import UUID

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import Organisation, Patient, User
from apps.fhir.auth import SystemPrincipal, scope_allows
from apps.fhir.bulk_models import ExportFile, ExportJob, ExportLevel, ExportStatus
from apps.fhir.jsonio import dumps
from apps.fhir.models import FhirClient
from apps.fhir.registry import REGISTRY, Source, split_values
from apps.supplements.models import SupplementPlan
from backend.access import ScopedUser
from backend.audit import audit_record
from backend.models import AuditEvent
from backend.roles import Role

logger = logging.getLogger(__name__)

STORAGE = "fhir_exports"
OUTPUT_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
# Kick-off parameters served; `_format` is the OperationOutcome's format (FhirView checks it).
SUPPORTED_PARAMS = frozenset({"_outputFormat", "_type", "_since", "_format"})
# Types that are not patient data: never exported (Group is the export's subject; Questionnaire a fixed definition).
NOT_EXPORTED = frozenset({"Group"})
# transactionTime is set this long before the worker starts reading: a client that passes it as its next `_since`
# also gets rows whose writing transaction was still open then (updated_at is stamped before commit). A few
# resources may come twice; they are identified by id.
SINCE_OVERLAP = timedelta(minutes=1)
# A type's resources also change when these related rows do (Patient: birth date and phones on the profile), for
# `_since`. Her account (name, active flag) has no modification time: a change there alone is not seen by `_since`.
SINCE_ALSO: Mapping[type, tuple[str, ...]] = {Patient: ("profile__updated_at",)}
# A resource whose status changes with the calendar, no row written (a supplement CarePlan turns `completed` when her
# local date passes its planned end: apps.fhir.care_status): with `_since`, rows whose date column puts that change
# after `_since` are exported too. The window is widened by two days for zones up to 14 hours from UTC; a plan that
# completed just before `_since` may come again (allowed: ids identify it).
SINCE_CALENDAR: Mapping[type, str] = {SupplementPlan: "ends_on"}
RETRY_AFTER_SECONDS = 5  # the poll's Retry-After while the export runs
# A FHIR instant: seconds and a zone required (FHIR R4 datatypes, "instant").
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


class ExportRequestError(Exception):
    """A kick-off the server refuses: an OperationOutcome with `status` and FHIR issue `code`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ExportBusyError(Exception):
    """The requester has an export queued or running already (a 429)."""


@dataclass(frozen=True)
class ExportRequest:
    types: list[str]
    since: datetime | None = None
    ignored: list[str] = field(default_factory=list)


def exportable_types() -> list[str]:
    """The registered types holding patient data, in registration order (Patient first)."""
    return [name for name, rtype in REGISTRY.items() if rtype.sources and name not in NOT_EXPORTED]


def prefer_tokens(header: str) -> set[str]:
    """RFC 7240 preferences, lower-cased without spaces: `respond-async`, `handling=lenient`..."""
    return {token.strip().replace(" ", "").lower() for token in re.split(r"[,;]", header) if token.strip()}


MAX_OFFSET = timedelta(hours=14)  # the furthest zone from UTC (the pattern allows more; no place uses it)
# Stored and read back in UTC: an instant outside these cannot be (nor the days around it that the CarePlan window
# reads), so it is refused at kick-off rather than failing the export, its polls and the cleanup job later.
EARLIEST_SINCE = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_SINCE = datetime(9999, 12, 1, tzinfo=UTC)


def parse_instant(raw: str) -> datetime:
    value = raw.strip()
    if not INSTANT.fullmatch(value):
        raise ExportRequestError(
            400, "invalid", f"_since {raw[:40]!r} is not a FHIR instant (e.g. 2026-01-31T09:00:00Z, with its zone)"
        )
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
        offset = instant.utcoffset()
        in_utc = instant.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ExportRequestError(400, "invalid", f"_since {raw[:40]!r} is not a valid instant") from exc
    if offset is None or abs(offset) > MAX_OFFSET or not EARLIEST_SINCE <= in_utc <= LATEST_SINCE:
        raise ExportRequestError(
            400, "invalid", f"_since {raw[:40]!r} is out of range (years 1900 to 9999, zones within 14 hours of UTC)"
        )
    return in_utc


def parse_kickoff(params: Mapping[str, list[str]], prefer: str, principal: ScopedUser) -> ExportRequest:
    """Check a kick-off's headers and parameters (Bulk Data 2.0, "Bulk Data Kick-off Request"); ExportRequestError
    saying what is wrong otherwise."""
    preferences = prefer_tokens(prefer)
    if "respond-async" not in preferences:
        raise ExportRequestError(400, "invalid", "A bulk export is asynchronous: send Prefer: respond-async.")
    lenient = "handling=lenient" in preferences
    unsupported = [name for name in params if name not in SUPPORTED_PARAMS]
    if unsupported and not lenient:
        raise ExportRequestError(
            400,
            "not-supported",
            f"Unsupported export parameter(s): {', '.join(unsupported)[:200]} "
            "(served: _outputFormat, _type, _since; Prefer: handling=lenient ignores the others)",
        )
    for fmt in params.get("_outputFormat", []):
        if fmt.strip() not in OUTPUT_FORMATS:
            raise ExportRequestError(
                400, "not-supported", f"_outputFormat {fmt[:60]!r}: only application/fhir+ndjson is produced"
            )
    since = None
    if "_since" in params:
        values = params["_since"]
        if len(values) != 1:
            raise ExportRequestError(400, "invalid", "_since is given once")
        since = parse_instant(values[0])
    available = exportable_types()
    if "_type" in params:
        types = list(dict.fromkeys(split_values(params["_type"])))
        if not types:
            raise ExportRequestError(400, "invalid", "_type names no type")
        unknown = [name for name in types if name not in available]
        if unknown:
            raise ExportRequestError(
                400,
                "not-supported",
                f"_type: {', '.join(unknown)[:200]} not exported here (types: {', '.join(available)})",
            )
        refused = [name for name in types if not scope_allows(principal, name, "search")]
        if refused:
            raise ExportRequestError(403, "forbidden", f"The token's scopes do not cover {', '.join(refused)[:200]}.")
    else:
        types = [name for name in available if scope_allows(principal, name, "search")]
        if not types:
            raise ExportRequestError(403, "forbidden", "The token's scopes cover none of the exported types.")
    return ExportRequest(types=types, since=since, ignored=[name for name in unsupported if lenient])


def is_requester(job: ExportJob, principal: object) -> bool:
    if isinstance(principal, SystemPrincipal):
        return job.requester_client_id == principal.pk
    return isinstance(principal, User) and job.requester_user_id == principal.pk


def requester_filter(principal: object) -> Q:
    if isinstance(principal, SystemPrincipal):
        return Q(requester_client_id=principal.pk)
    return Q(requester_user_id=getattr(principal, "pk", None))


def export_start(
    *,
    principal: ScopedUser,
    level: str,
    organisation: Organisation | None,
    request_url: str,
    export: ExportRequest,
) -> ExportJob:
    """Record the job and enqueue its task after commit; ExportBusyError when the requester has one queued or running
    (a unique constraint decides, so two kick-offs at once make one job)."""
    system = isinstance(principal, SystemPrincipal)
    job = ExportJob(
        requester_user=principal if isinstance(principal, User) else None,
        requester_client_id=principal.pk if system else None,
        scopes=" ".join(principal.scopes) if isinstance(principal, SystemPrincipal) else "",
        level=level,
        organisation=organisation,
        types=export.types,
        since=export.since,
        request_url=request_url,
        ignored_params=export.ignored,
    )
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError as exc:
        raise ExportBusyError from exc
    transaction.on_commit(lambda: enqueue(job.pk))
    return job


def enqueue(job_id: UUID) -> None:
    """Send the job to a worker; if the broker is down the periodic cleanup sends it again (it stays queued)."""
    from apps.fhir.bulk_tasks import bulk_export_task

    try:
        if settings.FHIR_EXPORT_QUEUE:
            bulk_export_task.apply_async(args=(str(job_id),), queue=settings.FHIR_EXPORT_QUEUE)
        else:
            bulk_export_task.apply_async(args=(str(job_id),))
    except Exception:  # broker unreachable: `fhir_export_cleanup` re-sends queued jobs
        logger.warning("could not enqueue FHIR export %s", job_id)


def export_cancel(job: ExportJob) -> bool:
    """DELETE on the status URL: the job is cancelled whatever its state (a running worker stops at its next chunk;
    later polls are a 404) and its files are deleted now. False if it was cancelled already."""
    now = timezone.now()
    cancelled = (
        ExportJob.objects.filter(pk=job.pk)
        .exclude(status=ExportStatus.CANCELLED)
        .update(status=ExportStatus.CANCELLED, finished_at=now, updated_at=now)
    )
    delete_files(job)
    return bool(cancelled)


def storage() -> Storage:
    return storages[STORAGE]


def delete_files(job: ExportJob) -> None:
    """Delete a job's files from the storage and their rows (the job's directory too, on a filesystem)."""
    store = storage()
    for name in ExportFile.objects.filter(job=job).values_list("storage_name", flat=True):
        store.delete(name)
    ExportFile.objects.filter(job=job).delete()
    _remove_tree(store, str(job.pk))


def _remove_tree(store: Storage, name: str) -> None:
    """Everything under the job's prefix, recorded or not (a worker that died between saving a file and recording
    it leaves one): patient data must not outlive the retention."""
    with contextlib.suppress(OSError, NotImplementedError):  # absent; or a storage that cannot list
        directories, files = store.listdir(name)
        for file_name in files:
            store.delete(f"{name}/{file_name}")
        for directory in directories:
            _remove_tree(store, f"{name}/{directory}")
    try:
        path = store.path(name)
    except NotImplementedError:  # object storage: no directories
        return
    with contextlib.suppress(OSError):  # absent, or not empty (a file saved since: the cleanup job retries)
        os.rmdir(path)


# --- the worker -----------------------------------------------------------------------------------------------


class CancelledError(Exception):
    """The job was cancelled (or retaken by another worker) while this one wrote it."""


def job_principal(job: ExportJob) -> ScopedUser | None:
    """Whose scope the export reads with: the same account, or the system client with its token's scopes. None when
    the account or client was deactivated since the kick-off."""
    if job.requester_user_id is not None:
        user = User.objects.filter(pk=job.requester_user_id, is_active=True).first()
        return user if user is not None and user.role != Role.PATIENT else None
    client_id = job.requester_client_id
    client = FhirClient.objects.filter(pk=client_id, is_active=True).first() if client_id is not None else None
    if client is None:
        return None
    return SystemPrincipal(
        pk=client.pk,
        client_id=client.client_id,
        organisation_id=client.organisation_id,
        scopes=tuple(job.scopes.split()),
    )


def _patient_prefix(model: type) -> str:
    if model is Patient:
        return ""
    names = {f.name for f in model._meta.get_fields()}  # type: ignore[attr-defined]
    if "patient" in names:
        return "patient__"
    if "schedule" in names:  # a pharmacist's review decision is about a schedule
        return "schedule__patient__"
    raise ValueError(f"{model.__name__}: no path to its patient for the export")


def export_queryset(job: ExportJob, principal: ScopedUser, source: Source) -> QuerySet[Any]:
    """The source's rows the requester sees, limited to the Group's organisation and, with `_since`, to rows changed
    after it; in the source's stable order."""
    rows = source.rows(principal)
    prefix = _patient_prefix(rows.model)
    if job.level == ExportLevel.GROUP:
        rows = rows.filter(**{f"{prefix}organisation_id": job.organisation_id})
    if job.since is not None:
        changed = Q(updated_at__gt=job.since)
        for column in SINCE_ALSO.get(rows.model, ()):
            changed |= Q(**{f"{column}__gt": job.since})
        if (day_column := SINCE_CALENDAR.get(rows.model)) is not None:
            window = (job.since.date() - timedelta(days=2), timezone.now().date() + timedelta(days=1))
            changed |= Q(**{f"{day_column}__range": window})
        rows = rows.filter(changed)
    return rows.order_by(*source.order)


class FileSet:
    """The NDJSON files of one type: lines go to a temporary file; at FHIR_EXPORT_FILE_MAX_RESOURCES lines (and at
    the end) it is saved to the storage as `<Type>-<n>.ndjson` and recorded."""

    def __init__(self, job: ExportJob, resource_type: str, claim: datetime, *, is_error: bool = False) -> None:
        self.job = job
        # Each run writes under its own prefix: a retaken job's new run and the old run it replaced (still alive,
        # about to notice and delete what it wrote) never name the same file.
        self.prefix = f"{job.pk}/{claim.astimezone(UTC):%Y%m%dT%H%M%S%f}"
        self.resource_type = resource_type
        self.is_error = is_error
        self.limit = max(1, int(settings.FHIR_EXPORT_FILE_MAX_RESOURCES))
        self.number = 0
        self.count = 0
        self.total = 0
        self.saved: list[str] = []
        self.temp: IO[bytes] | None = None

    def write(self, resource: dict[str, Any]) -> None:
        if self.temp is None:
            self.temp = tempfile.TemporaryFile()  # noqa: SIM115  (closed in _save)
        self.temp.write(dumps(resource).encode())
        self.temp.write(b"\n")
        self.count += 1
        self.total += 1
        if self.count >= self.limit:
            self._save()

    def close(self) -> None:
        if self.temp is not None:
            self._save()

    def discard(self) -> None:
        if self.temp is not None:
            self.temp.close()
            self.temp = None

    def _save(self) -> None:
        assert self.temp is not None
        self.number += 1
        name = f"{self.resource_type}-{self.number}.ndjson"
        size = self.temp.tell()
        self.temp.seek(0)
        try:
            stored = storage().save(f"{self.prefix}/{name}", File(self.temp, name=name))
        finally:
            self.temp.close()
            self.temp = None
        self.saved.append(stored)
        ExportFile.objects.create(
            job=self.job,
            resource_type=self.resource_type,
            name=name,
            storage_name=stored,
            count=self.count,
            size=size,
            is_error=self.is_error,
        )
        self.count = 0


class Export:
    """One run of a claimed job (`claim` is its started_at: another run's checkpoints no longer match)."""

    def __init__(self, job: ExportJob, principal: ScopedUser, claim: datetime) -> None:
        self.job = job
        self.principal = principal
        self.claim = claim
        self.chunk = max(1, int(settings.FHIR_EXPORT_CHUNK_SIZE))
        self.written = 0
        self.files: list[FileSet] = []

    def checkpoint(self, progress: str, *, audit_type: str = "", patient_ids: Iterable[UUID | None] = ()) -> None:
        """Progress for the poll, the chunk's patients audited; CancelledError if the job is no longer this run's."""
        still_mine = ExportJob.objects.filter(pk=self.job.pk, status=ExportStatus.RUNNING, started_at=self.claim)
        if not still_mine.update(progress=progress[:100], resources_written=self.written, heartbeat_at=timezone.now()):
            raise CancelledError
        ids = [pid for pid in patient_ids if pid is not None]
        if ids:
            audit_record(
                actor=self.principal,
                action=AuditEvent.Action.EXPORT,
                resource=f"fhir_{audit_type.lower()}",
                patient_ids=ids,
                object_id=self.job.pk,
            )

    def run(self) -> None:
        types = list(self.job.types)
        for position, type_name in enumerate(types, 1):
            rtype = REGISTRY.get(type_name)
            if rtype is None or not scope_allows(self.principal, type_name, "search"):
                continue  # checked at kick-off; a type dropped since is left out
            files = FileSet(self.job, type_name, self.claim)
            self.files.append(files)
            audited: set[UUID | None] = set()  # each patient once per type (ids only: bounded by the patients)
            for source in rtype.sources:
                pending: list[UUID | None] = []
                rows = export_queryset(self.job, self.principal, source).iterator(chunk_size=self.chunk)
                for number, row in enumerate(rows, 1):
                    for resource in source.resources(row):
                        files.write(resource)
                        self.written += 1
                    patient_id = source.patient_id(row)
                    if patient_id not in audited:
                        audited.add(patient_id)
                        pending.append(patient_id)
                    if number % self.chunk == 0:
                        self.checkpoint(
                            self._progress(position, types, type_name), audit_type=type_name, patient_ids=pending
                        )
                        pending = []
                self.checkpoint(self._progress(position, types, type_name), audit_type=type_name, patient_ids=pending)
            files.close()
        if self.job.ignored_params:
            self._write_outcome()

    def _progress(self, position: int, types: list[str], type_name: str) -> str:
        return f"{type_name} ({position}/{len(types)} types), {self.written:,} resources written"

    def _write_outcome(self) -> None:
        """The parameters ignored under `Prefer: handling=lenient`, as an OperationOutcome (the manifest's error)."""
        files = FileSet(self.job, "OperationOutcome", self.claim, is_error=True)
        self.files.append(files)
        files.write(
            {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "warning",
                        "code": "not-supported",
                        "diagnostics": f"Ignored export parameter(s): {', '.join(self.job.ignored_params)[:200]}",
                    }
                ],
            }
        )
        files.close()

    def abandon(self) -> None:
        """Delete what this run saved (its job was cancelled, retaken or failed)."""
        store = storage()
        for files in self.files:
            files.discard()
            for name in files.saved:
                store.delete(name)
        ExportFile.objects.filter(job=self.job, storage_name__in=[n for f in self.files for n in f.saved]).delete()


def run_export(job_id: UUID | str) -> str:
    """The `fhir.bulk_export` task: claim the job (queued, or running but abandoned by a lost worker), write its
    files, complete it. Idempotent: a job already taken, finished or cancelled is left alone. Returns the outcome."""
    now = timezone.now()
    stale = now - timedelta(minutes=settings.FHIR_EXPORT_STALE_MINUTES)
    claimable = Q(status=ExportStatus.QUEUED) | Q(status=ExportStatus.RUNNING, heartbeat_at__lt=stale)
    claimed = ExportJob.objects.filter(claimable, pk=job_id).update(
        status=ExportStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        transaction_time=now - SINCE_OVERLAP,
        progress="started",
        resources_written=0,
        updated_at=now,
    )
    if not claimed:
        return "not claimed"
    job = ExportJob.objects.get(pk=job_id)
    delete_files(job)  # a retaken job starts again from the beginning
    mine = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING, started_at=now)
    principal = job_principal(job)
    if principal is None:
        mine.update(status=ExportStatus.FAILED, error="The requester is no longer active.", finished_at=timezone.now())
        return "failed"
    export = Export(job, principal, now)
    try:
        export.run()
    except CancelledError:
        export.abandon()
        return "cancelled"
    except Exception as exc:  # one export failing must not take the worker down; the client sees a 500 outcome
        logger.exception("FHIR export %s failed", job.pk)
        export.abandon()
        mine.update(status=ExportStatus.FAILED, error=f"{type(exc).__name__}", finished_at=timezone.now())
        return "failed"
    finished = timezone.now()
    done = mine.update(
        status=ExportStatus.COMPLETED,
        progress="completed",
        resources_written=export.written,
        finished_at=finished,
        heartbeat_at=finished,
        expires_at=finished + timedelta(hours=settings.FHIR_EXPORT_RETENTION_HOURS),
        updated_at=finished,
    )
    if not done:  # cancelled after the last chunk
        export.abandon()
        return "cancelled"
    return "completed"


def export_cleanup(now: datetime | None = None) -> dict[str, int]:
    """The `fhir_export_cleanup` job: delete expired exports (files and rows), fail running exports whose worker
    stopped writing progress, re-send queued exports no worker took. Idempotent."""
    now = now or timezone.now()
    retention = timedelta(hours=settings.FHIR_EXPORT_RETENTION_HOURS)
    over = ExportJob.objects.filter(
        Q(status=ExportStatus.COMPLETED, expires_at__lte=now)
        | Q(status__in=(ExportStatus.FAILED, ExportStatus.CANCELLED), finished_at__lte=now - retention)
    )
    expired = 0
    for job in over.only("pk").iterator(chunk_size=100):
        delete_files(job)
        job.delete()
        expired += 1
    stale = now - timedelta(minutes=settings.FHIR_EXPORT_STALE_MINUTES)
    lost = 0
    for job in ExportJob.objects.filter(status=ExportStatus.RUNNING, heartbeat_at__lt=stale).only("pk"):
        if ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING, heartbeat_at__lt=stale).update(
            status=ExportStatus.FAILED,
            error="The export stopped (its worker was lost); start a new one.",
            finished_at=now,
            updated_at=now,
        ):
            delete_files(job)
            lost += 1
    resent = 0
    for job_id in ExportJob.objects.filter(
        status=ExportStatus.QUEUED, created_at__lt=now - timedelta(minutes=2)
    ).values_list("pk", flat=True):
        enqueue(job_id)
        resent += 1
    return {"exports_expired": expired, "exports_lost": lost, "exports_resent": resent}
