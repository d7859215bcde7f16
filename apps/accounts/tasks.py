"""Periodic housekeeping for accounts."""

from celery import shared_task
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


@shared_task(name="accounts.flush_expired_tokens")
def flush_expired_tokens() -> dict[str, int]:
    """Delete refresh tokens (and their blacklist entries) past expiry: they can no longer be used anyway.
    Idempotent; safe to run twice."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return {"expired_tokens_deleted": deleted}
