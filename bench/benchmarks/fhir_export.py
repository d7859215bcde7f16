"""FHIR Bulk Data export (`Group/<id>/$export`, every type) of an organisation whose patients have a year of history.

Setup (untimed, bulk_create): N patients (bench.data), each with a weekly alendronate schedule and its 52 doses of
the past year (MedicationRequest, MedicationStatement), a denosumab schedule with two clinic injections
(MedicationAdministration), three DXA T-scores and four labs (Observation), an alert (Flag), a supplement and an
exercise plan (CarePlan): 67 resources per patient.

Timed: the export task itself (`apps.fhir.bulk.run_export`, what the Celery worker runs), in this process, for the
organisation's pharmacist: every type, streamed into NDJSON files (a temporary directory), audited per patient and
type. Memory: the process's resident set sampled every 50 ms during the export, reported as its growth (peak
minus the size when the export started): what the export itself needed, C buffers (psycopg) included, at no cost
to the timing. Baseline, in the same run: the same export at a tenth of the patients: time should grow linearly
with the patients and the memory stay flat (streamed, not built in memory).
"""

import os
import random
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Patient
from apps.alerts.models import Alert
from apps.exercise.models import ExercisePlan
from apps.fhir.bulk import exportable_types, run_export
from apps.fhir.bulk_models import ExportFile, ExportJob, ExportLevel
from apps.medications.catalogue import catalogue_sync
from apps.medications.models import DoseRecord, Medication, Schedule
from apps.profiles.models import BoneDensityResult, LabResult
from apps.supplements.models import SupplementPlan
from bench import db
from bench.data import BATCH_SIZE, OrganisationRows, populate_organisation
from bench.registry import Options, benchmark
from bench.report import Report, Row, progress

SIZES = (1_000, 10_000)
QUICK_SIZES = (200, 2_000)
TODAY = date(2026, 11, 2)
PER_PATIENT = 67  # resources each patient gives (see the module docstring)
SEED_BATCH = 500  # patients whose history is built and inserted at a time (keeps the loader's memory small)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, clock(hour, 0), tzinfo=UTC)


def _history(patients: list[Patient], rng: random.Random) -> None:
    alendronate = Medication.objects.get(code="alendronate")
    denosumab = Medication.objects.get(code="denosumab")
    start = TODAY - timedelta(days=364)
    schedules: list[Schedule] = []
    rows: dict[Any, list[Any]] = {}
    for patient in patients:
        weekly = Schedule(
            id=uuid.uuid4(),
            patient=patient,
            medication=alendronate,
            dose="70 mg",
            unit="week",
            weekday=start.weekday(),
            local_time=clock(7, 0),
            starts_on=start,
            review_status="verified",
        )
        injection = Schedule(
            id=uuid.uuid4(),
            patient=patient,
            medication=denosumab,
            dose="60 mg",
            unit="month",
            interval=6,
            month_day=start.day,
            local_time=clock(9, 0),
            starts_on=start,
            review_status="verified",
        )
        schedules += [weekly, injection]
        doses = rows.setdefault(DoseRecord, [])
        for week in range(52):
            day = start + timedelta(weeks=week)
            taken = _at(day, 7) + timedelta(minutes=rng.randint(0, 90))
            doses.append(DoseRecord(id=uuid.uuid4(), patient=patient, schedule=weekly, taken_at=taken, taken_on=day))
        for months in (0, 6):
            day = start + timedelta(days=months * 30)
            doses.append(
                DoseRecord(
                    id=uuid.uuid4(),
                    patient=patient,
                    schedule=injection,
                    taken_at=_at(day, 9),
                    taken_on=day,
                    source="clinic",
                    site="left arm",
                )
            )
        rows.setdefault(BoneDensityResult, []).extend(
            BoneDensityResult(patient=patient, measured_on=start, site=site, t_score=Decimal(rng.randint(-30, 5)) / 10)
            for site in ("lumbar_spine", "total_hip", "femoral_neck")
        )
        rows.setdefault(LabResult, []).extend(
            LabResult(patient=patient, kind=kind, value=Decimal(value), unit=unit, measured_on=start + timedelta(d))
            for kind, value, unit, d in (
                ("egfr", 72, "mL/min/1.73m2", 10),
                ("egfr", 68, "mL/min/1.73m2", 190),
                ("vitamin_d_25oh", 24, "ng/mL", 10),
                ("serum_calcium", "2.35", "mmol/L", 10),
            )
        )
        rows.setdefault(Alert, []).append(
            Alert(
                patient=patient,
                kind="joint_pain",
                severity="high",
                severity_rank=3,
                message="Joint pain 6/10 this week",
                rule="J3",
                episode=f"bench-{patient.pk}",
                raised_at=_at(start + timedelta(days=rng.randint(0, 300)), 10),
            )
        )
        rows.setdefault(SupplementPlan, []).append(
            SupplementPlan(
                patient=patient,
                supplement="calcium_citrate",
                amount=Decimal(500),
                unit="mg",
                starts_on=start,
                times_of_day=["08:00"],
            )
        )
        rows.setdefault(ExercisePlan, []).append(ExercisePlan(patient=patient, reminder_days=[0, 2, 4]))
    Schedule.objects.bulk_create(schedules, batch_size=BATCH_SIZE)
    for model, items in rows.items():
        model._default_manager.bulk_create(items, batch_size=BATCH_SIZE)


def _load(label: str, patients: int) -> OrganisationRows:
    organisation = populate_organisation(label=label, patients=patients)
    rng = random.Random(label)
    for first in range(0, patients, SEED_BATCH):
        _history(organisation.patients[first : first + SEED_BATCH], rng)
    return organisation


class RssSampler:
    """The peak resident set size while it runs, sampled from /proc/self/statm (Linux) in a thread."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.start = self.peak = self.rss()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self.page

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> "RssSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1_000_000


def _export(organisation: OrganisationRows) -> dict[str, Any]:
    job = ExportJob.objects.create(
        requester_user=organisation.pharmacist,
        level=ExportLevel.GROUP,
        organisation=organisation.organisation,
        types=exportable_types(),
        request_url=f"https://bench.example/fhir/R4/Group/{organisation.organisation.pk}/$export",
    )
    with tempfile.TemporaryDirectory() as directory:
        storage = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": directory}}
        with override_settings(STORAGES={**_storages(), "fhir_exports": storage}):
            with CaptureQueriesContext(connection) as queries, RssSampler() as memory:
                started = time.perf_counter()
                outcome = run_export(job.pk)
                seconds = time.perf_counter() - started
            if outcome != "completed":
                raise RuntimeError(f"the export ended {outcome!r}")
            files = list(ExportFile.objects.filter(job=job))
            on_disk = sum(p.stat().st_size for p in Path(directory).rglob("*.ndjson"))
    job.refresh_from_db()
    result = {
        "seconds": seconds,
        "resources": job.resources_written,
        "files": len(files),
        "bytes": sum(f.size for f in files),
        "bytes_on_disk": on_disk,
        "queries": len(queries.captured_queries),
        "rss_growth_mb": memory.growth_mb,
        "rss_start_mb": memory.start / 1_000_000,
    }
    job.delete()
    return result


def _storages() -> dict[str, Any]:
    from django.conf import settings

    return dict(settings.STORAGES)


@benchmark("fhir_export", "FHIR Bulk Data export of an organisation: 1,000 and 10,000 patients with a year of history")
def fhir_export(options: Options) -> Report:
    sizes = QUICK_SIZES if options.quick else SIZES
    report = Report(
        benchmark="fhir_export",
        description="Group/$export, every type, run_export in-process (the worker's task): time, rate, memory growth",
        params={"patients": list(sizes), "resources_per_patient": PER_PATIENT, "database": db.describe()},
    )
    figures: dict[str, Any] = {}
    for size in sizes:
        db.truncate_all()
        catalogue_sync(Medication)  # truncating emptied the catalogue the migrations seeded
        progress(f"{size:,} patients: loading a year of history each")
        organisation = _load(f"E{size}", size)
        db.vacuum_analyze()
        progress(f"{size:,} patients: exporting")
        timed = _export(organisation)
        if timed["resources"] != size * PER_PATIENT:
            raise RuntimeError(f"exported {timed['resources']} resources, expected {size * PER_PATIENT}")
        progress(f"{size:,} patients: {timed['seconds']:.1f} s")
        report.add(Row("export, every type", size, [timed["seconds"] * 1000], queries=timed["queries"]))
        figures[str(size)] = timed
        report.notes.append(
            f"{size:,} patients: {timed['resources']:,} resources in {timed['seconds']:.1f} s "
            f"({timed['resources'] / timed['seconds']:,.0f} resources/s), {timed['files']} files, "
            f"{timed['bytes'] / 1_000_000:,.1f} MB of NDJSON, {timed['queries']} queries, "
            f"memory: resident set grew {timed['rss_growth_mb']:,.1f} MB during the export "
            f"(from {timed['rss_start_mb']:,.0f} MB)"
        )
    small, large = (figures[str(s)] for s in sizes)
    scale = sizes[1] / sizes[0]
    time_ratio = large["seconds"] / small["seconds"]
    report.notes.append(
        f"{scale:g}x the patients: {time_ratio:.1f}x the time (linear: {scale:g}x); resident set growth "
        f"{small['rss_growth_mb']:,.1f} MB vs {large['rss_growth_mb']:,.1f} MB (streamed: flat)"
    )
    figures["time_ratio"] = round(time_ratio, 2)
    report.figures = figures
    return report
