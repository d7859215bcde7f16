"""GET /api/v1/sync/ (WatermelonDB pull) for a patient with years of history: the first pull and an empty
incremental pull.

A patient on weekly alendronate and a daily aromatase inhibitor, with daily calcium and vitamin D and three
exercise sessions a week, and a reminder occurrence for each of those; 1 and 5 years of it (quick: 1 and 2), beside
other patients whose rows the pull must leave out. Through the whole in-process stack (DRF, the snapshot
transaction, serialising, JSON rendering, the audit insert) with APIClient.force_authenticate.

Baseline, in the same run on the same rows: `json.dumps` of `values()` of the patient's rows of every synced table
(the least work that ships the same rows as JSON). Goals (reported, not asserted): first pull <= 2x the baseline;
queries constant in the history's size.
"""

import json
import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Model
from rest_framework.test import APIClient

from apps.accounts.models import Patient
from apps.exercise.models import ExercisePlan, ExerciseSession
from apps.medications.catalogue import catalogue_sync
from apps.medications.models import DoseRecord, Medication, Schedule
from apps.reminders.models import ReminderOccurrence
from apps.supplements.models import SupplementIntake, SupplementPlan
from apps.sync.registry import TABLES
from bench import db
from bench.data import populate_organisation
from bench.measure import capture_queries, time_calls
from bench.registry import Options, benchmark
from bench.report import Report, Row, progress

YEARS = (1, 5)
QUICK_YEARS = (1, 2)
OTHERS = 20  # other patients, a year of history each
RATIO_GOAL = 2.0
URL = "/api/v1/sync/"
BATCH = 5_000


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def _occurrence(patient: Patient, source: Any, kind: str, day: date, hour: int) -> ReminderOccurrence:
    due = _at(day, hour)
    return ReminderOccurrence(
        patient=patient,
        source_kind=kind,
        source_id=source.id,
        local_date=day,
        local_time=time(hour, 0),
        due_at=due,
        dose_date=day,
        text_generic="Time for your medicine",
        text_detailed="Time for your medicine (named)",
        expires_at=due + timedelta(hours=6),
        state="sent",
        next_attempt_at=due,
        finished_at=due,
    )


def load_history(patient: Patient, *, years: int, today: date, seed: int = 0) -> int:
    """Five years look like this: bulk-created rows (the sync triggers stamp them as any write). Returns the count."""
    rng = random.Random(seed)
    start = today - timedelta(days=365 * years)
    weekly = Schedule.objects.create(
        patient=patient,
        medication=Medication.objects.get(code="alendronate"),
        dose="70 mg",
        unit="week",
        weekday=start.weekday(),
        local_time=time(7, 0),
        starts_on=start,
        review_status="verified",
    )
    daily = Schedule.objects.create(
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
    vitamin_d = SupplementPlan.objects.create(
        patient=patient,
        supplement="vitamin_d3",
        amount=Decimal(800),
        unit="IU",
        starts_on=start,
        times_of_day=["08:00"],
    )
    plan = ExercisePlan.objects.create(patient=patient, reminder_days=[0, 2, 4])
    rows: list[Any] = []
    for offset in range((today - start).days):
        day = start + timedelta(days=offset)
        pairs: list[tuple[Any, str, int]] = [(daily, "medication", 9), (calcium, "supplement", 8)]
        pairs += [(calcium, "supplement", 20), (vitamin_d, "supplement", 8)]
        if day.weekday() == weekly.weekday:
            pairs.append((weekly, "medication", 7))
        if day.weekday() in (0, 2, 4):
            pairs.append((plan, "exercise", 18))
        for source, kind, hour in pairs:
            rows.append(_occurrence(patient, source, kind, day, hour))
            taken = _at(day, hour) + timedelta(minutes=rng.randint(0, 90))
            if kind == "medication":
                rows.append(DoseRecord(id=uuid.uuid4(), patient=patient, schedule=source, taken_at=taken, taken_on=day))
            elif kind == "supplement":
                rows.append(
                    SupplementIntake(
                        id=uuid.uuid4(),
                        patient=patient,
                        plan=source,
                        supplement=source.supplement,
                        amount=source.amount,
                        unit=source.unit,
                        taken_at=taken,
                        taken_on=day,
                    )
                )
            else:
                rows.append(
                    ExerciseSession(
                        id=uuid.uuid4(),
                        patient=patient,
                        kind=rng.choice(("weight_bearing", "resistance", "balance")),
                        minutes=rng.choice((20, 30, 45)),
                        performed_at=taken,
                        performed_on=day,
                    )
                )
    by_model: dict[type[Model], list[Any]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row)
    for model, items in by_model.items():
        for first in range(0, len(items), BATCH):
            model._default_manager.bulk_create(items[first : first + BATCH])
    return len(rows) + 6  # with the two schedules, three plans and her profile


def _pull(client: APIClient, since: int | None) -> Callable[[], Any]:
    query = {"last_pulled_at": since if since is not None else "null"}

    def call() -> Any:
        response: Any = client.get(URL, query)
        if response.status_code != 200:
            raise RuntimeError(f"GET {URL} answered {response.status_code}: {response.content[:300]!r}")
        return response

    return call


def _baseline(patient: Patient) -> Callable[[], bytes]:
    def call() -> bytes:
        data = {
            table.name: list(table.model._default_manager.filter(patient_id=patient.pk).order_by().values())
            for table in TABLES
        }
        return json.dumps(data, default=str).encode()

    return call


@benchmark("sync_pull", "WatermelonDB pull for a patient with 1 and 5 years of history: first and empty incremental")
def sync_pull(options: Options) -> Report:
    years_list = QUICK_YEARS if options.quick else YEARS
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()
    report = Report(
        benchmark="sync_pull",
        description=f"GET {URL}: first pull and an empty incremental pull vs json.dumps of values() of the same rows",
        params={
            "years": list(years_list),
            "other_patients": OTHERS,
            "repeat": options.repeat,
            "warmup": options.warmup,
            "database": db.describe(),
            "postgres": server_version,
        },
    )
    today = date(2026, 11, 1)
    figures: dict[str, Any] = {}
    for years in years_list:
        db.truncate_all()
        catalogue_sync(Medication)  # truncating emptied the catalogue the migrations seeded
        progress(f"{years} year(s): loading the patient's history and {OTHERS} other patients")
        rows = populate_organisation(label=f"Y{years}", patients=OTHERS + 1, per_coordinator=OTHERS + 1)
        patient, others = rows.patients[0], rows.patients[1:]
        count = load_history(patient, years=years, today=today)
        for k, other in enumerate(others):
            load_history(other, years=1, today=today, seed=k + 1)
        db.vacuum_analyze()
        client = APIClient()
        client.force_authenticate(user=patient.user)
        first = _pull(client, None)
        response = first()
        body = json.loads(response.content)
        shipped = sum(len(t["created"]) for t in body["changes"].values())
        if shipped != count:
            raise RuntimeError(f"first pull shipped {shipped} rows, expected {count}: not measuring the same thing")
        baseline = _baseline(patient)
        if len(json.loads(baseline())["dose_records"]) != len(body["changes"]["dose_records"]["created"]):
            raise RuntimeError("the baseline reads other rows than the pull")
        empty = _pull(client, body["timestamp"])
        emptied = json.loads(empty().content)
        if any(any(t.values()) for t in emptied["changes"].values()):
            raise RuntimeError("the incremental pull is not empty")
        progress(f"{years} year(s): {count:,} rows; timing ({options.warmup} warm-up + {options.repeat} timed calls)")
        first_queries = capture_queries(first)
        empty_queries = capture_queries(empty)
        report.add(
            Row(
                "first pull",
                count,
                time_calls(first, repeat=options.repeat, warmup=options.warmup),
                queries=len(first_queries),
                baseline="json.dumps(values())",
            )
        )
        report.add(
            Row("json.dumps(values())", count, time_calls(baseline, repeat=options.repeat, warmup=options.warmup))
        )
        report.add(
            Row(
                "empty incremental",
                count,
                time_calls(empty, repeat=options.repeat, warmup=options.warmup),
                queries=len(empty_queries),
            )
        )
        figures[f"{years}y"] = {
            "rows": count,
            "first_pull_bytes": len(response.content),
            "empty_pull_bytes": len(empty().content),
            "baseline_bytes": len(baseline()),
            "first_pull_queries": len(first_queries),
            "empty_pull_queries": len(empty_queries),
        }
        report.notes.append(
            f"{years} year(s), {count:,} rows: first pull {len(response.content):,} bytes "
            f"({len(first_queries)} queries), empty incremental {figures[f'{years}y']['empty_pull_bytes']:,} bytes "
            f"({len(empty_queries)} queries), baseline JSON {figures[f'{years}y']['baseline_bytes']:,} bytes"
        )
    large = report.row("first pull", figures[f"{years_list[-1]}y"]["rows"])
    ratio = report.ratio(large) or 0.0
    constant = len({f["first_pull_queries"] for f in figures.values()}) == 1
    report.notes.append(
        f"First pull / json.dumps(values()) at {years_list[-1]} years: {ratio:.2f}x "
        f"({'ok' if ratio <= RATIO_GOAL else 'OVER GOAL'}, goal <= {RATIO_GOAL:g}); "
        f"queries constant in history size: {'yes' if constant else 'NO'}"
    )
    figures["ratio_first_pull_over_baseline"] = round(ratio, 3)
    report.figures = figures
    return report
