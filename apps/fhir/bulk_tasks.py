"""Celery tasks of the FHIR Bulk Data export (apps.fhir.bulk): the export itself and its periodic housekeeping."""

from celery import shared_task

from apps.fhir.bulk import export_cleanup, run_export


@shared_task(name="fhir.bulk_export", acks_late=True)
def bulk_export_task(job_id: str) -> str:
    """Idempotent (late acks: a message may come twice): a job claimed, finished or cancelled already is left alone.
    A job whose worker was lost mid-export is marked failed by `fhir_export_cleanup` once its progress is older than
    FHIR_EXPORT_STALE_MINUTES (or retaken, if its message comes back after that)."""
    return run_export(job_id)


@shared_task(name="fhir.bulk_cleanup", acks_late=True)
def bulk_cleanup_task() -> dict[str, int]:
    return export_cleanup()
