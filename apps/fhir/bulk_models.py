"""FHIR Bulk Data export (issue 16, part 3): an export job a staff member or a clinic's system started, and the NDJSON
files its worker wrote (apps.fhir.bulk explains the flow)."""

from django.conf import settings
from django.db import models

from apps.accounts.models import Organisation
from backend.models import BaseModel


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ExportLevel(models.TextChoices):
    GROUP = "group", "Group (an organisation)"
    PATIENT = "patient", "Every patient in the caller's scope"


ACTIVE_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class ExportJob(BaseModel):
    """One `$export` kick-off. Exactly one of `requester_user` (a staff API token) and `requester_client` (a SMART
    system client) is set: only that requester polls it, fetches its files or cancels it."""

    requester_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    requester_client = models.ForeignKey(
        "fhir.FhirClient", on_delete=models.CASCADE, null=True, blank=True, related_name="exports"
    )
    # A system client's granted scopes at kick-off (space-separated): the worker exports within them.
    scopes = models.CharField(max_length=1000, blank=True)
    level = models.CharField(max_length=10, choices=ExportLevel.choices)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    types = models.JSONField(default=list)  # resource type names, in export order
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.TextField()
    # Kick-off parameters ignored under `Prefer: handling=lenient` (reported in the manifest's `error` file).
    ignored_params = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    progress = models.CharField(max_length=100, blank=True)
    resources_written = models.BigIntegerField(default=0)
    transaction_time = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the worker's last progress write
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(requester_user__isnull=False, requester_client__isnull=True)
                    | models.Q(requester_user__isnull=True, requester_client__isnull=False)
                ),
                name="fhir_export_one_requester",
            ),
            # One export at a time per requester (a second kick-off is a 429): the constraint holds under races.
            models.UniqueConstraint(
                fields=["requester_user"],
                condition=models.Q(status__in=ACTIVE_STATUSES),
                name="fhir_export_one_active_per_user",
            ),
            models.UniqueConstraint(
                fields=["requester_client"],
                condition=models.Q(status__in=ACTIVE_STATUSES),
                name="fhir_export_one_active_per_client",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="fhir_export_status_idx")]

    def __str__(self) -> str:
        return f"export {self.id} ({self.status})"


class ExportFile(models.Model):
    """One NDJSON file of a job: `name` is its URL's last part, `storage_name` where the storage keeps it."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="files")
    resource_type = models.CharField(max_length=64)
    name = models.CharField(max_length=120)
    storage_name = models.CharField(max_length=300)
    count = models.PositiveIntegerField(default=0)
    size = models.BigIntegerField(default=0)
    is_error = models.BooleanField(default=False)  # an OperationOutcome file (the manifest's `error`)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="fhir_export_file_name_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.name}"
