"""FHIR Bulk Data export (issue 16, part 3): kick-off checks, scope per caller, the manifest and every NDJSON line
validated, `_type` and `_since`, cancel, only the requester, expiry, constant queries. The task runs in-process here
(`run_export`, what the worker calls); tests/fhir/test_bulk_worker.py runs it through a real Celery worker."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.fhir import bulk
from apps.fhir.bulk import export_cleanup, run_export
from apps.fhir.bulk_models import ExportFile, ExportJob
from apps.profiles.models import LabResult
from apps.supplements.services import supplement_plan_create
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import LabFactory, PatientFactory, make_dose, make_schedule
from tests.fhir.bulk_helpers import (
    BASE,
    export_dir,
    exported,
    file_lines,
    full_history,
    job_of,
    kickoff,
    manifest_of,
    subjects,
    system_token,
)
from tests.fhir.conftest import fhir_json, outcome

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
ALL_TYPES = {
    "Patient",
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "Observation",
    "Flag",
    "Appointment",
    "QuestionnaireResponse",
    "CarePlan",
    "DetectedIssue",
}

pytestmark = pytest.mark.django_db
__all__ = ["export_dir"]  # the fixture, imported for pytest


@pytest.fixture(autouse=True)
def _frozen_and_stored(export_dir: Path) -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def histories(world: World) -> None:
    for patient in (world.ann, world.bea, world.zoe):
        full_history(world, patient)


def completed(client: Any, response: Any) -> dict[str, Any]:
    """Run the kicked-off job as the worker would, then fetch its manifest."""
    job = job_of(response)
    assert run_export(job.pk) == "completed"
    return manifest_of(client, response["Content-Location"])


# --- kick-off checks ------------------------------------------------------------------------------------------------
BAD_KICKOFFS = {
    "no-prefer": ({"prefer": ""}, 400, "invalid"),
    "prefer-other": ({"prefer": "return=minimal"}, 400, "invalid"),
    "output-format-csv": ({"_outputFormat": "text/csv"}, 400, "not-supported"),
    "type-unknown": ({"_type": "Patient,Basic"}, 400, "not-supported"),
    "type-group": ({"_type": "Group"}, 400, "not-supported"),
    "type-questionnaire": ({"_type": "Questionnaire"}, 400, "not-supported"),
    "type-empty": ({"_type": ","}, 400, "invalid"),
    "since-date-only": ({"_since": "2026-01-01"}, 400, "invalid"),
    "since-no-zone": ({"_since": "2026-01-01T10:00:00"}, 400, "invalid"),
    "since-garbage": ({"_since": "yesterday"}, 400, "invalid"),
    "since-impossible": ({"_since": "2026-02-30T10:00:00Z"}, 400, "invalid"),
    # Review: accepted, then unreadable once stored in UTC (every poll a 500, the requester locked out by the 429).
    "since-after-9999-in-utc": ({"_since": "9999-12-31T23:59:59-14:00"}, 400, "invalid"),
    "since-before-year-1-in-utc": ({"_since": "0001-01-01T00:00:00+14:00"}, 400, "invalid"),
    "since-offset-beyond-14h": ({"_since": "2026-01-01T10:00:00+23:59"}, 400, "invalid"),
    "elements": ({"_elements": "id"}, 400, "not-supported"),
    "patient": ({"patient": "Patient/x"}, 400, "not-supported"),
    "type-filter": ({"_typeFilter": "Observation?code=x"}, 400, "not-supported"),
    "associated-data": ({"includeAssociatedData": "LatestProvenanceResources"}, 400, "not-supported"),
    "format-xml": ({"_format": "xml"}, 406, "not-supported"),
}


@pytest.mark.parametrize("case", sorted(BAD_KICKOFFS))
def test_a_bad_kickoff_is_an_operation_outcome_and_starts_nothing(world: World, client_for: Any, case: str) -> None:
    params, status, code = BAD_KICKOFFS[case]
    outcome(kickoff(client_for(world.phil), **params), status, code)
    assert not ExportJob.objects.exists()


def test_unsupported_parameters_are_ignored_and_reported_when_lenient(world: World, client_for: Any) -> None:
    client = client_for(world.phil)
    response = kickoff(client, prefer="respond-async, handling=lenient", _elements="id", _type="Patient")
    manifest = completed(client, response)
    assert [o["type"] for o in manifest["output"]] == ["Patient"]
    (error,) = manifest["error"]
    assert error["type"] == "OperationOutcome"
    (warning,) = file_lines(client, error["url"])
    fhir_json_ok = {"resourceType": "OperationOutcome"}.items() <= warning.items()
    assert fhir_json_ok and "_elements" in warning["issue"][0]["diagnostics"]


def test_output_formats_the_spec_names_are_accepted(world: World, client_for: Any) -> None:
    client = client_for(world.phil)
    for fmt in ("application/fhir+ndjson", "application/ndjson", "ndjson"):
        job = job_of(kickoff(client, _outputFormat=fmt, _type="Patient"))
        ExportJob.objects.filter(pk=job.pk).delete()


# --- the whole flow -------------------------------------------------------------------------------------------------
def test_a_coordinator_exports_her_group_every_line_valid_fhir(world: World, client_for: Any, histories: None) -> None:
    client = client_for(world.cora)
    response = kickoff(client, f"Group/{world.org_a.pk}/$export")
    job = job_of(response)
    assert response["Content-Location"] == f"http://testserver{BASE}bulk/{job.pk}"
    fhir_json(response)  # an informational OperationOutcome
    waiting = client.get(response["Content-Location"])
    assert waiting.status_code == 202
    assert waiting["X-Progress"] == "queued" and int(waiting["Retry-After"]) > 0

    manifest = completed(client, response)
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"] == f"http://testserver{BASE}Group/{world.org_a.pk}/$export"
    assert manifest["transactionTime"] == "2026-04-15T11:59:00Z"  # the start, less the overlap for late commits
    assert manifest["error"] == []
    resources = exported(client, manifest)
    assert set(resources) == ALL_TYPES
    for type_name, items in resources.items():
        assert subjects(items) == {str(world.ann.pk)}, type_name  # Cora's patient only, not Bea (unassigned)
    assert len(resources["MedicationStatement"]) == 2 and len(resources["MedicationAdministration"]) == 1
    assert len(resources["Observation"]) == 4 and len(resources["DetectedIssue"]) == 2
    assert all(o["url"].startswith(response["Content-Location"] + "/") for o in manifest["output"])
    # Audited per patient and type, as the requester; each download too.
    exports = AuditEvent.objects.filter(action="export", actor=world.cora)
    assert {(e.resource, e.patient_id) for e in exports} == {(f"fhir_{t.lower()}", world.ann.pk) for t in ALL_TYPES}
    assert exports.count() == len(ALL_TYPES)
    assert set(exports.values_list("object_id", flat=True)) == {str(job.pk)}
    assert AuditEvent.objects.filter(action="read", resource="fhir_export_file").count() == len(manifest["output"])


def test_a_pharmacist_exports_her_organisations_patients(world: World, client_for: Any, histories: None) -> None:
    client = client_for(world.phil)
    resources = exported(client, completed(client, kickoff(client)))
    assert set(resources) == ALL_TYPES
    assert {r["id"] for r in resources["Patient"]} == {str(world.ann.pk), str(world.bea.pk)}
    for items in resources.values():
        assert str(world.zoe.pk) not in subjects(items)


def test_an_admin_exports_one_organisation_as_its_group(world: World, client_for: Any, histories: None) -> None:
    client = client_for(world.admin)
    resources = exported(client, completed(client, kickoff(client, f"Group/{world.org_b.pk}/$export")))
    assert {r["id"] for r in resources["Patient"]} == {str(world.zoe.pk)}
    for items in resources.values():
        assert subjects(items) == {str(world.zoe.pk)}


def test_another_organisations_group_is_a_404_and_a_patient_is_refused(world: World, client_for: Any) -> None:
    outcome(kickoff(client_for(world.cora), f"Group/{world.org_b.pk}/$export"), 404, "not-found")
    assert AuditEvent.objects.filter(action="denied", resource="fhir_group", actor=world.cora).count() == 1
    outcome(kickoff(client_for(world.cora), "Group/not-an-id/$export"), 404, "not-found")
    ann = client_for(world.ann.user)
    outcome(kickoff(ann, "Patient/$export"), 403, "forbidden")
    outcome(kickoff(ann, f"Group/{world.org_a.pk}/$export"), 404, "not-found")
    outcome(APIClient().get(f"{BASE}Patient/$export", HTTP_PREFER="respond-async"), 401, "login")
    assert not ExportJob.objects.exists()


def test_a_system_client_exports_its_organisation_within_its_scopes(world: World, histories: None) -> None:
    token, _ = system_token(world.org_a, "system/Patient.rs system/Observation.rs")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    outcome(kickoff(api, f"Group/{world.org_b.pk}/$export"), 404, "not-found")
    outcome(kickoff(api, f"Group/{world.org_a.pk}/$export", _type="Patient,Flag"), 403, "forbidden")
    response = kickoff(api, f"Group/{world.org_a.pk}/$export")
    job = job_of(response)
    assert job.types == ["Patient", "Observation"]  # no _type: every type its scopes allow
    resources = exported(api, completed(api, response))
    assert set(resources) == {"Patient", "Observation"}
    assert {r["id"] for r in resources["Patient"]} == {str(world.ann.pk), str(world.bea.pk)}
    assert subjects(resources["Observation"]) == {str(world.ann.pk), str(world.bea.pk)}
    assert AuditEvent.objects.filter(action="export", actor_role="system").count() == 4  # 2 patients x 2 types


def test_type_limits_the_export_to_the_types_named(world: World, client_for: Any, histories: None) -> None:
    client = client_for(world.phil)
    manifest = completed(client, kickoff(client, _type="Observation,Patient", _outputFormat="application/ndjson"))
    assert [o["type"] for o in manifest["output"]] == ["Observation", "Patient"]


def test_since_exports_only_what_changed_after_it(world: World, client_for: Any) -> None:
    client = client_for(world.phil)
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):  # written before the first export
        lab = LabFactory.create(patient=world.ann)
        LabFactory.create(patient=world.bea)
        schedule = make_schedule(world.ann)
        for patient in (world.ann, world.bea):
            patient.save()
            patient.profile.save()
    first = completed(client, kickoff(client))
    since = first["transactionTime"]
    assert {o["type"] for o in first["output"]} >= {"Patient", "Observation", "MedicationRequest"}

    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        lab.value = lab.value + 1
        lab.save()
        dose = make_dose(world.ann, schedule, taken_at=NOW + timedelta(hours=20))
        world.bea.profile.phone = "+447700900123"
        world.bea.profile.save()
        response = kickoff(client, _since=since)
        assert job_of(response).since == datetime(2026, 4, 15, 11, 59, tzinfo=UTC)
        resources = exported(client, completed(client, response))
    assert {r["id"] for r in resources["Observation"]} == {str(lab.pk)}
    assert {r["id"] for r in resources["MedicationStatement"]} == {str(dose.pk)}
    assert [r["id"] for r in resources["Patient"]] == [str(world.bea.pk)]  # her profile changed (a phone)
    assert resources["Patient"][0]["telecom"][0]["value"] == "+447700900123"
    assert "MedicationRequest" not in resources  # the schedule did not change since (the dose is its own row)


def test_since_exports_a_supplement_care_plan_completed_by_the_calendar(world: World, client_for: Any) -> None:
    """Review: a plan past its planned end turns `completed` with no row written; `_since` must still bring it."""
    with time_machine.travel(NOW - timedelta(days=10), tick=False):
        ending = supplement_plan_create(
            actor=world.phil,
            patient=world.ann,
            supplement="calcium_carbonate",
            amount=Decimal("500"),
            unit="mg",
            times_of_day=[time(8, 0)],
            starts_on=date(2026, 1, 5),
            ends_on=NOW.date(),
        )
        supplement_plan_create(  # ends months later: unchanged, not exported again
            actor=world.phil,
            patient=world.ann,
            supplement="vitamin_d3",
            amount=Decimal("800"),
            unit="IU",
            times_of_day=[time(8, 0)],
            starts_on=date(2026, 1, 5),
            ends_on=date(2026, 9, 30),
        )
    client = client_for(world.phil)
    first = completed(client, kickoff(client, _type="CarePlan"))
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        resources = exported(
            client, completed(client, kickoff(client, _type="CarePlan", _since=first["transactionTime"]))
        )
    assert [(r["id"], r["status"]) for r in resources["CarePlan"]] == [(f"supplement-{ending.pk}", "completed")]


def test_files_are_split_at_the_configured_size(world: World, client_for: Any, settings: Any) -> None:
    settings.FHIR_EXPORT_FILE_MAX_RESOURCES = 2
    for _ in range(5):
        LabFactory.create(patient=world.ann)
    client = client_for(world.phil)
    manifest = completed(client, kickoff(client, _type="Observation"))
    assert [(o["url"].rsplit("/", 1)[1], o["count"]) for o in manifest["output"]] == [
        ("Observation-1.ndjson", 2),
        ("Observation-2.ndjson", 2),
        ("Observation-3.ndjson", 1),
    ]
    assert len(exported(client, manifest)["Observation"]) == 5


# --- cancel, only the requester, one at a time ----------------------------------------------------------------------
def test_delete_cancels_a_queued_export_and_later_polls_are_404(world: World, client_for: Any) -> None:
    client = client_for(world.phil)
    response = kickoff(client)
    url = response["Content-Location"]
    deleted = client.delete(url)
    assert deleted.status_code == 202
    outcome(client.get(url), 404, "not-found")
    outcome(client.delete(url), 404, "not-found")
    assert run_export(job_of(response).pk) == "not claimed"  # the worker leaves it alone
    job_of(kickoff(client))  # cancelled: a new export may start


def test_delete_removes_a_completed_exports_files(world: World, client_for: Any, export_dir: Path) -> None:
    LabFactory.create(patient=world.ann)
    client = client_for(world.phil)
    response = kickoff(client)
    manifest = completed(client, response)
    assert any(export_dir.rglob("*.ndjson"))
    assert client.delete(response["Content-Location"]).status_code == 202
    assert not any(export_dir.rglob("*.ndjson"))
    outcome(client.get(manifest["output"][0]["url"]), 404, "not-found")
    assert not ExportFile.objects.exists()


def test_a_cancel_while_running_stops_the_worker_and_deletes_what_it_wrote(
    world: World, client_for: Any, export_dir: Path, settings: Any, monkeypatch: Any
) -> None:
    settings.FHIR_EXPORT_CHUNK_SIZE = 1
    for patient in (world.ann, world.bea):
        LabFactory.create(patient=patient)
    client = client_for(world.phil)
    response = kickoff(client)
    job = job_of(response)
    real_audit = bulk.audit_record

    def audit_then_cancel(**kwargs: Any) -> int:  # the client's DELETE arrives while the first chunk is written
        client.delete(response["Content-Location"])
        return real_audit(**kwargs)

    monkeypatch.setattr(bulk, "audit_record", audit_then_cancel)
    assert run_export(job.pk) == "cancelled"
    assert not any(export_dir.rglob("*.ndjson")) and not ExportFile.objects.exists()
    assert ExportJob.objects.get(pk=job.pk).status == "cancelled"


def test_only_the_requester_polls_fetches_or_cancels(world: World, client_for: Any, histories: None) -> None:
    cora = client_for(world.cora)
    response = kickoff(cora, f"Group/{world.org_a.pk}/$export")
    manifest = completed(cora, response)
    file_url = manifest["output"][0]["url"]
    token, _ = system_token(world.org_a)
    system = APIClient()
    system.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    for other in (client_for(world.phil), client_for(world.cody), client_for(world.admin), system):
        outcome(other.get(response["Content-Location"]), 404, "not-found")
        outcome(other.get(file_url), 404, "not-found")
        outcome(other.delete(response["Content-Location"]), 404, "not-found")
    assert AuditEvent.objects.filter(action="denied", resource="fhir_export").count() == 12
    assert manifest_of(cora, response["Content-Location"]) == manifest  # still there for her
    outcome(cora.get(f"{BASE}bulk/{job_of(response).pk}/Observation-99.ndjson"), 404, "not-found")


def test_one_export_at_a_time_per_requester(world: World, client_for: Any) -> None:
    client = client_for(world.phil)
    first = kickoff(client)
    busy = kickoff(client)
    outcome(busy, 429, "throttled")
    assert int(busy["Retry-After"]) > 0
    job_of(kickoff(client_for(world.cora)))  # someone else may
    run_export(job_of(first).pk)
    job_of(kickoff(client))  # and she may again once hers is done


def test_a_failed_export_is_a_500_outcome_without_files(
    world: World, client_for: Any, export_dir: Path, monkeypatch: Any
) -> None:
    LabFactory.create(patient=world.ann)
    client = client_for(world.phil)
    response = kickoff(client)
    real = bulk.export_queryset

    def broken(job: Any, principal: Any, source: Any) -> Any:
        if source.rows(principal).model is LabResult:
            raise RuntimeError("disk full")
        return real(job, principal, source)

    monkeypatch.setattr(bulk, "export_queryset", broken)
    assert run_export(job_of(response).pk) == "failed"
    outcome(client.get(response["Content-Location"]), 500, "exception")
    assert not any(export_dir.rglob("*.ndjson"))
    assert client.delete(response["Content-Location"]).status_code == 202  # the client acknowledges the failure
    outcome(client.get(response["Content-Location"]), 404, "not-found")


def test_an_export_whose_worker_was_lost_is_retaken_when_its_message_comes_back(
    world: World, client_for: Any, settings: Any
) -> None:
    LabFactory.create(patient=world.ann)
    client = client_for(world.phil)
    response = kickoff(client)
    job = job_of(response)
    ExportJob.objects.filter(pk=job.pk).update(status="running", started_at=NOW, heartbeat_at=NOW)
    assert run_export(job.pk) == "not claimed"  # its worker may still be writing
    with time_machine.travel(NOW + timedelta(minutes=settings.FHIR_EXPORT_STALE_MINUTES + 1), tick=False):
        assert run_export(job.pk) == "completed"
        assert {o["type"] for o in manifest_of(client, response["Content-Location"])["output"]} >= {"Observation"}


def test_the_old_run_of_a_retaken_export_does_not_delete_the_new_runs_files(
    world: World, client_for: Any, settings: Any, export_dir: Path
) -> None:
    """Review: both runs saved `<job>/<Type>-<n>.ndjson`; the old run, noticing it lost the job, deleted the new
    run's files and rows, leaving a completed export with an empty manifest."""
    LabFactory.create(patient=world.ann)
    client = client_for(world.phil)
    response = kickoff(client)
    job = job_of(response)
    ExportJob.objects.filter(pk=job.pk).update(status="running", started_at=NOW, heartbeat_at=NOW)
    old = bulk.Export(ExportJob.objects.get(pk=job.pk), world.phil, NOW)  # a stalled worker, still alive
    old_files = bulk.FileSet(old.job, "Observation", NOW)
    old.files.append(old_files)
    old_files.write({"resourceType": "Observation", "id": "from-the-old-run"})
    old_files.close()
    with time_machine.travel(NOW + timedelta(minutes=settings.FHIR_EXPORT_STALE_MINUTES + 1), tick=False):
        assert run_export(job.pk) == "completed"
        with pytest.raises(bulk.CancelledError):
            old.checkpoint("still writing")
        old.abandon()
        resources = exported(client, manifest_of(client, response["Content-Location"]))
    assert resources["Observation"] and all(r["id"] != "from-the-old-run" for r in resources["Observation"])


def test_deleting_an_export_removes_files_its_worker_saved_but_never_recorded(
    world: World, client_for: Any, export_dir: Path
) -> None:
    """Review: a worker that died between saving a file and recording it left patient data past the retention."""
    client = client_for(world.phil)
    response = kickoff(client)
    job = job_of(response)
    orphan = export_dir / str(job.pk) / "20260415T120000000000" / "Observation-1.ndjson"
    orphan.parent.mkdir(parents=True)
    orphan.write_text('{"resourceType": "Observation"}\n')
    assert client.delete(response["Content-Location"]).status_code == 202
    assert not (export_dir / str(job.pk)).exists()


def test_a_requester_deactivated_before_the_worker_starts_gets_a_failed_export(world: World, client_for: Any) -> None:
    client = client_for(world.phil)
    response = kickoff(client)
    world.phil.is_active = False
    world.phil.save()
    assert run_export(job_of(response).pk) == "failed"
    assert ExportJob.objects.get().error == "The requester is no longer active."


# --- expiry and housekeeping ----------------------------------------------------------------------------------------
def test_files_expire_and_the_cleanup_job_deletes_them(
    world: World, client_for: Any, export_dir: Path, settings: Any, monkeypatch: Any
) -> None:
    settings.FHIR_EXPORT_RETENTION_HOURS = 2
    LabFactory.create(patient=world.ann)
    client = client_for(world.phil)
    response = kickoff(client)
    job_of(response)
    completed(client, response)
    assert client.get(response["Content-Location"])["Expires"] == "Wed, 15 Apr 2026 14:00:00 GMT"
    assert export_cleanup() == {"exports_expired": 0, "exports_lost": 0, "exports_resent": 0}

    # A lost worker's export, and a queued one no worker took (the broker was down at the kick-off).
    lost = job_of(kickoff(client_for(world.cora)))
    ExportJob.objects.filter(pk=lost.pk).update(status="running", heartbeat_at=NOW, started_at=NOW)
    queued = job_of(kickoff(client_for(world.admin)))
    sent: list[Any] = []
    monkeypatch.setattr(bulk, "enqueue", sent.append)

    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        outcome(client.get(response["Content-Location"]), 404, "not-found")  # expired, even before the job runs
        assert export_cleanup() == {"exports_expired": 1, "exports_lost": 1, "exports_resent": 1}
    assert not any(export_dir.rglob("*.ndjson")) and not ExportFile.objects.exists()
    assert ExportJob.objects.get(pk=lost.pk).status == "failed"
    assert sent == [queued.pk]
    with time_machine.travel(NOW + timedelta(hours=5), tick=False):
        assert export_cleanup()["exports_expired"] == 1  # the failed one, after the retention
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [queued.pk]


def test_the_cleanup_job_is_scheduled_and_runs_by_name(world: World, settings: Any) -> None:
    from django.core.management import call_command

    assert settings.CELERY_BEAT_SCHEDULE["fhir_export_cleanup"]["task"] == "fhir.bulk_cleanup"
    call_command("runjob", "fhir_export_cleanup")


# --- constant queries -----------------------------------------------------------------------------------------------
def _patients_with_history(world: World, count: int) -> None:
    for _ in range(count):
        patient = PatientFactory.create(organisation=world.org_b)
        LabFactory.create(patient=patient)
        make_dose(patient, make_schedule(patient), taken_at=NOW - timedelta(days=1))


def _export_queries(world: World, client: Any) -> int:
    job = job_of(kickoff(client))
    with CaptureQueriesContext(connection) as queries:
        assert run_export(job.pk) == "completed"
    ExportJob.objects.filter(pk=job.pk).delete()
    return len(queries.captured_queries)


def test_the_workers_queries_do_not_grow_with_patients(world: World, client_for: Any) -> None:
    client = client_for(world.pia)
    _patients_with_history(world, 5)
    few = _export_queries(world, client)
    _patients_with_history(world, 45)
    assert _export_queries(world, client) == few


# --- Group and the CapabilityStatement ------------------------------------------------------------------------------
def test_group_is_the_organisation_each_caller_sees_of_it(world: World, client_for: Any) -> None:
    group = fhir_json(client_for(world.cora).get(f"{BASE}Group/{world.org_a.pk}"))
    assert group["type"] == "person" and group["actual"] is True
    assert group["name"] == "North Clinic" and group["quantity"] == 1  # her one patient
    assert fhir_json(client_for(world.phil).get(f"{BASE}Group/{world.org_a.pk}"))["quantity"] == 2
    outcome(client_for(world.cora).get(f"{BASE}Group/{world.org_b.pk}"), 404, "not-found")
    outcome(client_for(world.ann.user).get(f"{BASE}Group/{world.org_a.pk}"), 404, "not-found")
    bundle = fhir_json(client_for(world.admin).get(f"{BASE}Group"))
    assert {e["resource"]["id"] for e in bundle["entry"]} == {str(world.org_a.pk), str(world.org_b.pk)}


def test_the_capability_statement_names_the_export_operations(api: Any) -> None:
    body = fhir_json(api.get(f"{BASE}metadata"))
    assert body["instantiates"] == ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"]
    listed = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert listed["Group"]["operation"] == [
        {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}
    ]
    assert listed["Patient"]["operation"] == [
        {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"}
    ]
    assert "operation" not in listed["Observation"]
