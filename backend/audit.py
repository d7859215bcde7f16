"""Writing the audit log: who read or changed which patient's data, and when."""

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.http import HttpRequest

from backend.models import AuditEvent


def audit_record(
    *,
    actor: Any,
    action: str,
    resource: str,
    patient_ids: Iterable[UUID | None],
    object_id: object = "",
    request: HttpRequest | None = None,
) -> int:
    """Write one event per patient touched; returns how many were written."""
    events = [
        AuditEvent(
            actor=actor,
            actor_role=getattr(actor, "role", "") or "",
            patient_id=patient_id,
            action=action,
            resource=resource,
            object_id=str(object_id or "")[:64],
            method=request.method or "" if request is not None else "",
            path=request.path[:300] if request is not None else "",
        )
        for patient_id in dict.fromkeys(patient_ids)
    ]
    AuditEvent.objects.bulk_create(events)
    return len(events)
