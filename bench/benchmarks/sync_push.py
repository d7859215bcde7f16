"""POST /api/v1/sync/ (WatermelonDB push) of the largest push the server accepts (settings.SYNC_MAX_PUSH_RECORDS).

Two pushes of the maximum size, each from a patient who has just pulled (a fresh patient per timed call, so every
call creates all its records, as an app's first push after a long time offline does):
- only exercise sessions (the review's attack: one table, the cheapest records to send);
- a mixed backlog: a daily aromatase inhibitor's doses over 400 days (the oldest a dose may be), calcium intakes
  and exercise sessions;
- only doses (several a day on one daily schedule): the costliest records, each through the dose service one by one
  (lock, checks, injection alerts in its transaction), the worst case an app or a script can send.

Through the whole in-process stack (DRF parsing, the push's validation, the REST API's services, the audit insert)
with APIClient.force_authenticate. Reported per push: time, queries (from a separate call) and the peak Python memory
(tracemalloc, from another separate call: tracing slows the code down).

Baseline, in the same run: `bulk_create` of the same rows (the least work that stores them). Goal (issue 12,
reported, not asserted): the largest accepted push finishes well inside gunicorn's 60 s worker timeout.
"""

import gc
import time as timer
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Patient
from apps.exercise.models import ExerciseSession
from apps.medications.catalogue import catalogue_sync
from apps.medications.models import DoseRecord, Medication, Schedule
from apps.supplements.models import SupplementIntake, SupplementPlan
from bench import db
from bench.data import populate_organisation
from bench.registry import Options, benchmark
from bench.report import Report, Row, progress

URL = "/api/v1/sync/"
QUICK_SIZE = 500
GOAL_SECONDS = 60
DAYS = 399  # doses, intakes and sessions may be up to 400 days old
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KINDS = ("weight_bearing", "resistance", "balance")


def _ms(at: datetime) -> int:
    return (at - EPOCH) // timedelta(milliseconds=1)


class Backlog:
    """One patient's offline backlog of `n` records, as the app pushes it and as bulk_create stores it."""

    def __init__(self, patient: Patient, *, n: int, mixed: bool, doses_only: bool = False) -> None:
        self.patient = patient
        now = timezone.now().replace(microsecond=0)
        start = now.date() - timedelta(days=DAYS + 1)
        self.changes: dict[str, dict[str, list[Any]]] = {}
        self.rows: list[Model] = []
        doses = intakes = 0
        if mixed:
            letrozole = Schedule.objects.create(
                patient=patient,
                medication=Medication.objects.get(code="letrozole"),
                dose="2.5 mg",
                unit="day",
                local_time=time(9, 0),
                starts_on=start,
                review_status="verified",
            )
            calcium = SupplementPlan.objects.create(
                patient=patient,
                supplement="calcium_citrate",
                amount=Decimal(500),
                unit="mg",
                starts_on=start,
                times_of_day=["08:00", "20:00"],
            )
            doses = n if doses_only else min(DAYS, n // 5)
            intakes = 0 if doses_only else (n - doses) // 2
            dose_records = []
            for k in range(doses):
                taken = now - timedelta(days=1 + k % DAYS, minutes=k // DAYS)
                record_id = uuid.uuid4()
                dose_records.append({"id": str(record_id), "schedule_id": str(letrozole.pk), "taken_at": _ms(taken)})
                self.rows.append(
                    DoseRecord(id=record_id, patient=patient, schedule=letrozole, taken_at=taken, taken_on=taken.date())
                )
            intake_records = []
            for k in range(intakes):
                taken = now - timedelta(days=1 + k % DAYS, minutes=k // DAYS)
                record_id = uuid.uuid4()
                intake_records.append({"id": str(record_id), "plan_id": str(calcium.pk), "taken_at": _ms(taken)})
                self.rows.append(
                    SupplementIntake(
                        id=record_id,
                        patient=patient,
                        plan=calcium,
                        supplement=calcium.supplement,
                        amount=calcium.amount,
                        unit=calcium.unit,
                        taken_at=taken,
                        taken_on=taken.date(),
                    )
                )
            self.changes["dose_records"] = {"created": dose_records, "updated": [], "deleted": []}
            self.changes["supplement_intakes"] = {"created": intake_records, "updated": [], "deleted": []}
        sessions = []
        for k in range(n - doses - intakes):
            performed = now - timedelta(days=1 + k % DAYS, minutes=k // DAYS)
            record_id = uuid.uuid4()
            kind, minutes = KINDS[k % 3], 20 + 5 * (k % 5)
            sessions.append({"id": str(record_id), "kind": kind, "minutes": minutes, "performed_at": _ms(performed)})
            self.rows.append(
                ExerciseSession(
                    id=record_id,
                    patient=patient,
                    kind=kind,
                    minutes=minutes,
                    performed_at=performed,
                    performed_on=performed.date(),
                )
            )
        self.changes["exercise_sessions"] = {"created": sessions, "updated": [], "deleted": []}
        self.count = n

    def push_call(self) -> Callable[[], Any]:
        client = APIClient()
        client.force_authenticate(user=self.patient.user)
        pulled = client.get(URL, {"last_pulled_at": "null"})
        if pulled.status_code != 200:
            raise RuntimeError(f"GET {URL} answered {pulled.status_code}")
        since = pulled.json()["timestamp"]
        body = {"changes": self.changes}

        def call() -> Any:
            response: Any = client.post(f"{URL}?last_pulled_at={since}", body, format="json")
            if response.status_code != 200 or response.json():
                raise RuntimeError(f"POST {URL} answered {response.status_code}: {response.content[:300]!r}")
            return response

        return call

    def baseline_call(self) -> Callable[[], Any]:
        def call() -> None:
            by_model: dict[type[Model], list[Model]] = {}
            for row in self.rows:
                by_model.setdefault(type(row), []).append(row)
            for model, items in by_model.items():
                model._default_manager.bulk_create(items)

        return call

    def stored(self) -> int:
        return sum(
            model._default_manager.filter(patient_id=self.patient.pk).count()
            for model in (DoseRecord, SupplementIntake, ExerciseSession)
        )


def _timed(call: Callable[[], Any]) -> float:
    gc.collect()
    started = timer.perf_counter()
    call()
    return (timer.perf_counter() - started) * 1000


def _queries(call: Callable[[], Any]) -> int:
    """How many statements one call sends (counted, not captured: Django keeps only the last 9,000)."""
    count = 0

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        call()
    return count


def _peak_mb(call: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 1_000_000
    finally:
        tracemalloc.stop()


@benchmark("sync_push", "WatermelonDB push of the largest accepted size (sessions only, mixed) vs bulk_create")
def sync_push(options: Options) -> Report:
    n = QUICK_SIZE if options.quick else settings.SYNC_MAX_PUSH_RECORDS
    runs = max(1, min(options.repeat, 3))
    report = Report(
        benchmark="sync_push",
        description=f"POST {URL}: one push of n records from a patient who has just pulled, vs bulk_create of them",
        params={"n": n, "max_push_records": settings.SYNC_MAX_PUSH_RECORDS, "runs": runs, "database": db.describe()},
    )
    db.truncate_all()
    catalogue_sync(Medication)
    # Per push kind: `runs` timed pushes, one for queries, one for memory, `runs` baselines; a fresh patient each.
    per_kind = 2 * runs + 2
    kinds = (
        ("exercise sessions", False, False),
        ("mixed: doses, intakes, sessions", True, False),
        ("doses only (the costliest records)", True, True),
    )
    rows = populate_organisation(label="Push", patients=3 * per_kind, per_coordinator=3 * per_kind)
    db.vacuum_analyze()
    patients = iter(rows.patients)
    for label, mixed, doses_only in kinds:
        progress(f"{label}: {runs} timed pushes of {n:,} records")
        pushed = report.add(Row(f"push {label}", n, [], baseline=f"bulk_create {label}"))
        base = report.add(Row(f"bulk_create {label}", n, []))
        for _ in range(runs):
            backlog = Backlog(next(patients), n=n, mixed=mixed, doses_only=doses_only)
            pushed.samples_ms.append(_timed(backlog.push_call()))
            if backlog.stored() != n:
                raise RuntimeError(f"the push stored {backlog.stored()} of {n} records")
            progress(f"  push: {pushed.samples_ms[-1]:,.0f} ms")
            other = Backlog(next(patients), n=n, mixed=mixed, doses_only=doses_only)
            base.samples_ms.append(_timed(other.baseline_call()))
        backlog = Backlog(next(patients), n=n, mixed=mixed, doses_only=doses_only)
        pushed.queries = _queries(backlog.push_call())
        backlog = Backlog(next(patients), n=n, mixed=mixed, doses_only=doses_only)
        peak = _peak_mb(backlog.push_call())
        seconds = pushed.median_ms / 1000
        key = "doses" if doses_only else "mixed" if mixed else "sessions"
        report.figures[key] = {
            "records": n,
            "median_seconds": round(seconds, 2),
            "queries": pushed.queries,
            "peak_python_mb": round(peak, 1),
            "within_goal": seconds < GOAL_SECONDS,
        }
        report.notes.append(
            f"push {label}: median {seconds:,.2f} s for {n:,} records, {pushed.queries:,} queries, peak Python memory"
            f" {peak:,.1f} MB (tracemalloc); goal well inside {GOAL_SECONDS} s: {'met' if seconds < 20 else 'NOT met'}."
        )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        report.params["postgres"] = cursor.fetchone()[0]
    report.params["started"] = date.today().isoformat()
    return report
