from typing import Any

from celery import shared_task

from backend.sync_versions import prune_pulls


@shared_task(name="sync.prune_pulls", acks_late=True)
def prune_pulls_task() -> dict[str, Any]:
    return {"pulls_deleted": prune_pulls()}
