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

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="audit_events", null=True
    )
    actor_role = models.CharField(max_length=20)
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
