"""Bulk Data export end to end (issue 16, part 3): a clinic's EHR with a SMART token kicks off a Group export over
HTTP, a real Celery worker process (on the CI Redis, a queue of its own) writes the NDJSON files, the EHR polls the
status URL until the manifest, then fetches every file with the same token; every line is valid FHIR R4."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.fhir.bulk_models import ExportJob
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import BoneDensityFactory, LabFactory, make_dose, make_schedule
from tests.fhir.bulk_helpers import exported, kickoff, subjects, system_token
from tests.parallel import worker_suffix
from tests.reminders.processes import running, start_worker, wait_for

QUEUE = f"it-fhir-export{worker_suffix()}"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_ehr_exports_its_group_through_a_real_worker(world: World, settings: Any, tmp_path: Path) -> None:
    exports = tmp_path / "fhir-exports"
    settings.FHIR_EXPORT_QUEUE = QUEUE
    settings.STORAGES = {
        **settings.STORAGES,
        "fhir_exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(exports)},
        },
    }
    for patient in (world.ann, world.bea, world.zoe):
        schedule = make_schedule(patient)
        make_dose(patient, schedule)
        LabFactory.create(patient=patient)
        BoneDensityFactory.create(patient=patient, t_score=Decimal("-2.6"))
    token, _ = system_token(world.org_a)
    ehr = APIClient()
    ehr.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    with running(start_worker(QUEUE, FHIR_EXPORT_DIR=str(exports))):
        response = kickoff(ehr, f"Group/{world.org_a.pk}/$export", _type="Patient,MedicationStatement,Observation")
        assert response.status_code == 202, response.content
        status_url = response["Content-Location"]
        polls: list[int] = []

        def finished() -> Any:
            answer = ehr.get(status_url)
            polls.append(answer.status_code)
            if answer.status_code == 202:
                assert answer["X-Progress"]
                return None
            return answer

        final = wait_for(finished, timeout=120, what="the worker to complete the export", every=0.3)

    assert final.status_code == 200, final.content[:300]
    assert set(polls[:-1]) <= {202}
    manifest = json.loads(final.content)
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    resources = exported(ehr, manifest)  # every line validated against the R4B models
    assert set(resources) == {"Patient", "MedicationStatement", "Observation"}
    for items in resources.values():
        assert subjects(items) == {str(world.ann.pk), str(world.bea.pk)}  # its organisation, not Zoe
    assert len(resources["Observation"]) == 4
    job = ExportJob.objects.get()
    assert job.status == "completed" and job.resources_written == 2 + 2 + 4
    assert any(exports.rglob("*.ndjson"))  # written by the worker process where this process reads them
    assert AuditEvent.objects.filter(action="export", actor_role="system").count() == 6  # 2 patients x 3 types
