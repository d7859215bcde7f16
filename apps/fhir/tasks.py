"""Periodic housekeeping for SMART Backend Services."""

from celery import shared_task
from django.utils import timezone

from apps.fhir.models import FhirAccessToken, FhirAssertionUse


@shared_task(name="fhir.smart_cleanup")
def smart_cleanup() -> dict[str, int]:
    """Delete spent assertion ids and access tokens past their expiry: an expired assertion or token is refused on
    its own, so the rows no longer protect anything. Idempotent."""
    now = timezone.now()
    jtis, _ = FhirAssertionUse.objects.filter(expires_at__lte=now).delete()
    tokens, _ = FhirAccessToken.objects.filter(expires_at__lte=now).delete()
    return {"assertion_ids_deleted": jtis, "access_tokens_deleted": tokens}


from apps.fhir.bulk_tasks import bulk_cleanup_task, bulk_export_task  # noqa: E402,F401  (found by autodiscovery)
