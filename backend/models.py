"""Base models every app builds on, and the audit log."""

import uuid

from django.conf import settings
from django.db import models


class BaseModel(models.Model):
    """UUID primary keys (clients may generate them offline) and timestamps."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """Who read or changed which patient's data, and when. Written, never edited."""

    class Action(models.TextChoices):
        READ = "read", "Read"
        LIST = "list", "Listed"
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        # A lookup the access functions refused (an id outside the actor's scope, or none): `object_id` is the id
        # asked for, `patient_id` stays empty (nothing about the target is written).
        DENIED = "denied", "Refused (out of scope)"
        # The actor's refused lookups reached AUDIT_DENIED_BURST within AUDIT_DENIED_WINDOW_MINUTES (one per window;
        # `object_id` holds the count): someone may be probing ids.
        BURST = "burst", "Burst of refused lookups"
        # A FHIR Bulk Data export wrote the patient's data of one type to a file (`object_id`: the export job).
        EXPORT = "export", "Exported (FHIR Bulk Data)"

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="audit_events", null=True
    )
    actor_role = models.CharField(max_length=20)
    # A backend system's client id (SMART Backend Services, apps/fhir; role `system`, `actor` empty): systems are
    # not users. No foreign key, like patient_id.
    actor_client = models.CharField(max_length=64, blank=True, db_index=True)
    # No foreign key: the log outlives the rows it talks about, and backend knows no patient model.
    patient_id = models.UUIDField(null=True, db_index=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    resource = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["actor", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.action} {self.resource} {self.patient_id}"


# --- sync versioning (WatermelonDB sync; the machinery lives in backend/sync_versions.py) -------------------------
class SyncVersioned(models.Model):
    """A row the patients' app syncs. Both columns are written by database triggers (never by Python), so they move
    on every write however it is made: save(), queryset.update(), bulk_create, bulk_update, raw SQL."""

    version = models.BigIntegerField(
        default=0, editable=False, help_text="Sync version of the last write that changed a synced column."
    )
    created_version = models.BigIntegerField(default=0, editable=False, help_text="Sync version of the insert.")

    class Meta:
        abstract = True


class SyncTombstone(models.Model):
    """A deleted synced row (deletes arrive in the app as deletes). Written by the delete triggers; an insert of the
    same id removes it."""

    id = models.BigAutoField(primary_key=True)
    table_name = models.CharField(max_length=40)
    row_id = models.UUIDField()
    # No foreign key: the tombstone outlives its row, and backend knows no patient model.
    patient_id = models.UUIDField()
    version = models.BigIntegerField()
    deleted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table_name", "row_id"], name="sync_tombstone_once")]
        indexes = [models.Index(fields=["patient_id", "version"], name="sync_tombstone_patient_idx")]

    def __str__(self) -> str:
        return f"{self.table_name} {self.row_id} deleted at version {self.version}"


class SyncPull(models.Model):
    """One pull served: its id is the `timestamp` the app gets back and sends as `last_pulled_at`; the snapshot says
    exactly which versions that pull could see ("xmin:xmax:in-progress,..."), so the next pull and the push
    conflict check are exact even when an older transaction commits after the pull."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    snapshot = models.TextField()
    at = models.DateTimeField(auto_now_add=True)
    # Ids the app created in pushes made after this pull ({table: [id, ...]}): the next pull, which starts from this
    # one, sends them back as updated, not created (the app has them).
    pushed = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["at"], name="sync_pull_at_idx")]  # pruning old pulls

    def __str__(self) -> str:
        return f"pull {self.id} by {self.user_id}"


class SyncCursor(models.Model):
    """How far a patient's devices have pulled, as confirmed by the app: the newest pull whose `timestamp` a device
    sent back as `last_pulled_at` (it sends it only after applying that pull). Read by the reminder dispatcher."""

    patient_id = models.UUIDField(primary_key=True)  # no foreign key: backend knows no patient model
    pull_id = models.BigIntegerField()
    snapshot = models.TextField()
    confirmed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.patient_id} through pull {self.pull_id}"


class SyncClock(models.Model):
    """The version counter of the embedded SQLite database (one writer at a time); PostgreSQL uses transaction ids."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"sync clock at {self.value}"
