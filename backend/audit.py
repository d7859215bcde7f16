"""Writing the audit log: who read or changed which patient's data, and when; and which lookups were refused."""

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest

from backend import clock
from backend.models import AuditEvent
from backend.roles import SYSTEM

logger = logging.getLogger(__name__)


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
    user, client = _actor_columns(actor)
    events = [
        AuditEvent(
            actor=user,
            actor_client=client,
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


def _actor_columns(actor: Any) -> tuple[Any, str]:
    """(user, client id): a backend system (apps.fhir.auth.SystemPrincipal) is recorded by its client id."""
    if getattr(actor, "role", None) == SYSTEM:
        return None, str(getattr(actor, "client_id", ""))[:64]
    return actor, ""


def audit_denied(*, actor: Any, resource: str, requested_id: str, request: HttpRequest | None = None) -> None:
    """Log a refused lookup (action `denied`, the id asked for, no patient) and, when the actor's refusals reach
    AUDIT_DENIED_BURST within AUDIT_DENIED_WINDOW_MINUTES, raise the signal once per window: a WARNING in the log
    and a `burst` event (`GET /api/v1/audit-events/?action=burst`, the admin's audit list filtered by action)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DENIED,
        resource=resource,
        patient_ids=[None],
        object_id=requested_id,
        request=request,
    )
    threshold: int = settings.AUDIT_DENIED_BURST
    since = clock.now() - timedelta(minutes=settings.AUDIT_DENIED_WINDOW_MINUTES)
    user, client = _actor_columns(actor)
    mine = AuditEvent.objects.filter(actor_client=client, at__gte=since)
    mine = mine.filter(actor=user) if user is not None else mine.filter(actor__isnull=True)
    refused = mine.filter(action=AuditEvent.Action.DENIED).count()
    if refused < threshold or mine.filter(action=AuditEvent.Action.BURST).exists():
        return
    logger.warning(
        "Burst of refused lookups: %s (%s) had %d out-of-scope ids refused within %d minutes",
        actor.pk,
        getattr(actor, "role", ""),
        refused,
        settings.AUDIT_DENIED_WINDOW_MINUTES,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.BURST,
        resource="access",
        patient_ids=[None],
        object_id=refused,
        request=request,
    )
