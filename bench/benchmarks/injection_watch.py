"""The injection watch (apps.alerts.jobs.injection_watch) with the same 100 transitions due, as patients grow.

Every patient has a profile (varied time zones) and one denosumab schedule, written with bulk_create in the state the
watch would have left it: injection_state and injection_next_check_at computed with the same rules as
injection_checks_claim (the next change date's local midnight in the patient's zone). All but 100 are settled, their
next check at least two days ahead (or none: critical schedules have no further change); exactly 100 were due 40
days ago and still say "due", their check instant past, so each run turns them "late": one transition, one alert
(with its "raised" event) and one notice each.

Before every run (untimed) the 100 rows get back their state and next check, and the alerts, alert events and notices
the previous run made are deleted. The baseline, measured in the same run on the same rows, is the least SQL that
leaves the schedules as the watch does: the due selection through the same partial index, then the conditional
UPDATE per row in its own transaction (autocommit), with no alert and no notice.

Goal (reported, not asserted): the watch's cost follows the checks due, not the patients: median at large N / small
N <= 1.5.
"""

import gc
import random
import time as timer
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

from django.db import connection

from apps.alerts.jobs import BATCH, WatchReport, injection_watch
from apps.alerts.models import Alert, AlertEvent, Notice
from apps.medications.catalogue import catalogue_sync
from apps.medications.models import Medication, ReviewStatus, Schedule, ScheduleStatus
from apps.medications.rules.injection import BANDS_BY_DRUG, InjectionState, injection_status, next_change_date
from apps.profiles.models import PatientProfile
from backend import clock
from backend.recurrence import to_instant
from bench import db
from bench.data import BATCH_SIZE, populate_organisation
from bench.measure import capture_queries
from bench.registry import Options, benchmark
from bench.report import Report, Row, progress

SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
DUE = 100  # transitions due in every run, whatever N
DUE_DAYS_AGO = 40  # next_due_on of the due rows: in the late band (29..112 days) but still saying "due"
SETTLED_OFFSETS = (-180, 140)  # days past next_due_on of the others: scheduled .. critical
MIN_LEAD = timedelta(days=2)  # a settled row's next check is at least this far ahead
SCALING_GOAL = 1.5
INDEX = "schedule_injection_check_idx"
DRUG = "denosumab"
LOCAL_TIME = time(9, 0)
MIDNIGHT = time(0, 0)

_S = connection.ops.quote_name(Schedule._meta.db_table)
_A = connection.ops.quote_name(Alert._meta.db_table)
_E = connection.ops.quote_name(AlertEvent._meta.db_table)
_N = connection.ops.quote_name(Notice._meta.db_table)

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What a run must leave on a due schedule."""

    state: str
    next_check_at: datetime | None


@dataclass
class Population:
    due_ids: list[UUID]
    due_check_at: list[datetime]  # each due row's original injection_next_check_at, in due_ids' order
    expected: dict[UUID, Outcome]
    states: Counter[str]
    without_check: int


def _settled(rng: random.Random, today: date, zone: Any, now: datetime) -> tuple[date, str, datetime | None]:
    """A next due date with its state and next check as the watch leaves them, the check well ahead (or none)."""
    bands = BANDS_BY_DRUG[DRUG]
    while True:
        next_due = today - timedelta(days=rng.randint(*SETTLED_OFFSETS))
        status = injection_status(next_due=next_due, today=today, stopped=False, bands=bands)
        change = next_change_date(next_due=next_due, today=today, stopped=False, bands=bands)
        if change is None:
            return next_due, status.state.value, None
        check_at = to_instant(change, MIDNIGHT, zone)
        if check_at > now + MIN_LEAD:
            return next_due, status.state.value, check_at


def _schedule(
    patient_id: UUID, medication: Medication, next_due: date, state: str, check_at: datetime | None
) -> Schedule:
    # No dose recorded yet, so the next due date is the first one (services._refresh_injection_due): starts_on.
    return Schedule(
        patient_id=patient_id,
        medication=medication,
        dose=medication.dose,
        unit=medication.default_unit,
        interval=medication.default_interval,
        month_day=next_due.day,
        local_time=LOCAL_TIME,
        starts_on=next_due,
        status=ScheduleStatus.ACTIVE,
        review_status=ReviewStatus.VERIFIED,
        next_due_on=next_due,
        injection_state=state,
        injection_next_check_at=check_at,
    )


def populate(n: int, now: datetime, *, seed: int = 0) -> Population:
    """N patients (profiles in several zones), one denosumab schedule each; exactly DUE of them due now."""
    rng = random.Random(f"{seed}-injection-{n}")
    populate_organisation(label=f"Injection N{n}", patients=n, seed=seed)
    medication = Medication.objects.get(code=DRUG)
    bands = BANDS_BY_DRUG[medication.injection_bands]
    zones = dict(PatientProfile.objects.values_list("patient_id", "timezone"))
    patient_ids = sorted(zones)
    due_patients = set(rng.sample(patient_ids, DUE))
    rows: list[Schedule] = []
    population = Population([], [], {}, Counter(), 0)
    for patient_id in patient_ids:
        zone = clock.zone(zones[patient_id])
        today = clock.local_today(zones[patient_id], now)
        if patient_id in due_patients:
            next_due = today - timedelta(days=DUE_DAYS_AGO)
            # It turned late at the local midnight after the on-time window; the watch has not run since.
            check_at = to_instant(next_due + timedelta(days=bands.on_time_days + 1), MIDNIGHT, zone)
            row = _schedule(patient_id, medication, next_due, InjectionState.DUE.value, check_at)
            after = next_change_date(next_due=next_due, today=today, stopped=False, bands=bands)
            assert after is not None
            population.due_ids.append(row.pk)
            population.due_check_at.append(check_at)
            population.expected[row.pk] = Outcome(InjectionState.LATE.value, to_instant(after, MIDNIGHT, zone))
        else:
            next_due, state, settled_check = _settled(rng, today, zone, now)
            row = _schedule(patient_id, medication, next_due, state, settled_check)
            population.without_check += settled_check is None
        population.states[row.injection_state] += 1
        rows.append(row)
    Schedule.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    return population


def _restore(population: Population) -> Callable[[], None]:
    """Put the due rows back as they were and delete what a run made for them (alerts, their events, notices)."""
    ids, checks = population.due_ids, population.due_check_at

    def call() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {_E} WHERE alert_id IN (SELECT id FROM {_A} WHERE schedule_id = ANY(%s))", [ids]
            )
            cursor.execute(f"DELETE FROM {_A} WHERE schedule_id = ANY(%s)", [ids])
            cursor.execute(f"DELETE FROM {_N} WHERE schedule_id = ANY(%s)", [ids])
            cursor.execute(
                f"UPDATE {_S} s SET injection_state = %s, injection_next_check_at = v.check_at "
                "FROM unnest(%s::uuid[], %s::timestamptz[]) AS v(id, check_at) WHERE s.id = v.id",
                [InjectionState.DUE.value, ids, checks],
            )
            if cursor.rowcount != len(ids):
                raise RuntimeError(f"Restored {cursor.rowcount} due schedules, not {len(ids)}.")

    return call


def _vacuum_touched() -> None:
    """Clear what the verification and timed runs left behind (dead schedule versions still in the partial index,
    deleted alerts and notices), so each series and the plan start from a settled database."""
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {_S}, {_A}, {_E}, {_N}")


def _watch(now: datetime) -> Callable[[], WatchReport]:
    def call() -> WatchReport:
        return injection_watch(now=now)

    return call


def _check_watch(report: WatchReport, n: int) -> None:
    if (report.checked, report.transitions, report.alerts_raised, report.notices_published, report.failed) != (
        DUE,
        DUE,
        DUE,
        DUE,
        [],
    ):
        raise RuntimeError(f"injection_watch at N={n} reported {report}, expected {DUE} of each and no failures.")


def _baseline(now: datetime, population: Population) -> Callable[[], int]:
    """The due selection through the index (the watch's own loop, BATCH at a time until none is left unseen), then
    per row the conditional UPDATE that claims it, each committing on its own as the watch's per-row transaction."""
    select_sql = (
        f"SELECT id FROM {_S} WHERE injection_next_check_at <= %(now)s ORDER BY injection_next_check_at LIMIT {BATCH}"
    )
    update_sql = (
        f"UPDATE {_S} SET injection_state = %(state)s, injection_next_check_at = %(next)s "
        "WHERE id = %(id)s AND injection_next_check_at <= %(now)s AND injection_state = %(was)s"
    )
    expected = population.expected
    was = InjectionState.DUE.value

    def call() -> int:
        connection.ensure_connection()
        raw: Any = connection.connection  # the psycopg connection under Django's wrapper, in autocommit
        claimed = 0
        seen: set[UUID] = set()
        with raw.cursor() as cursor:
            while True:
                cursor.execute(select_sql, {"now": now})
                ids = [row[0] for row in cursor.fetchall() if row[0] not in seen]
                if not ids:
                    return claimed
                for pk in ids:
                    seen.add(pk)
                    outcome = expected[pk]
                    params = {"state": outcome.state, "next": outcome.next_check_at, "now": now, "id": pk, "was": was}
                    cursor.execute(update_sql, params)
                    claimed += cursor.rowcount

    return call


def _check_baseline(claimed: int, n: int) -> None:
    if claimed != DUE:
        raise RuntimeError(f"The baseline at N={n} claimed {claimed} schedules, expected {DUE}.")


def _time_runs(
    restore: Callable[[], None], call: Callable[[], T], check: Callable[[T], None], *, repeat: int, warmup: int
) -> list[float]:
    """Milliseconds of `repeat` calls after `warmup` untimed ones; `restore` before each and `check` after each,
    both outside the timing."""
    for _ in range(warmup):
        restore()
        check(call())
    gc.collect()
    samples = []
    for _ in range(repeat):
        restore()
        started = timer.perf_counter()
        result = call()
        samples.append((timer.perf_counter() - started) * 1000)
        check(result)
    return samples


def _outcomes(ids: list[UUID]) -> dict[UUID, Outcome]:
    rows = Schedule.objects.filter(pk__in=ids).values_list("pk", "injection_state", "injection_next_check_at")
    return {pk: Outcome(state, check_at) for pk, state, check_at in rows}


def _verify_outcome(population: Population, n: int, who: str) -> None:
    got = _outcomes(population.due_ids)
    if got != population.expected:
        wrong = sorted(str(pk) for pk in population.expected if got.get(pk) != population.expected[pk])
        raise RuntimeError(f"{who} at N={n} left {len(wrong)} due schedules wrong, e.g. {wrong[:3]}.")


def _verify_writes(population: Population, n: int) -> None:
    ids = population.due_ids
    alerts = Alert.objects.filter(schedule_id__in=ids, kind=f"{DRUG}_late").count()
    events = AlertEvent.objects.filter(alert__schedule_id__in=ids, action=AlertEvent.Action.RAISED).count()
    notices = Notice.objects.filter(schedule_id__in=ids, kind=f"{DRUG}_late").count()
    if (alerts, events, notices) != (DUE, DUE, DUE):
        raise RuntimeError(f"The watch at N={n} wrote {alerts} alerts, {events} events, {notices} notices.")


def _statement(query: str) -> str:
    """A few words naming a captured statement: "SELECT medications_schedule (+joins)", "SAVEPOINT", "INSERT ..."."""
    words = query.replace('"', "").split()
    head = words[0].upper()
    if head == "SELECT" and "FROM" in words:
        table = words[words.index("FROM") + 1]
        joins = " (+ joins)" if " JOIN " in query.upper() else ""
        return f"SELECT ... FROM {table}{joins}"
    if head in ("INSERT", "DELETE"):
        return " ".join(words[:3])
    if head == "UPDATE":
        return f"UPDATE {words[1]}"
    if head == "RELEASE":
        return "RELEASE SAVEPOINT"
    if head == "ROLLBACK":
        return "ROLLBACK TO SAVEPOINT"
    return head


def _captured(call: Callable[[], T], check: Callable[[T], None]) -> list[str]:
    """The SQL of one checked call."""
    results: list[T] = []
    queries = capture_queries(lambda: results.append(call()))
    check(results[0])
    return queries


def _due_selection(queries: list[str]) -> str:
    for query in queries:
        if query.lstrip().upper().startswith("SELECT") and "injection_next_check_at" in query and "LIMIT" in query:
            return query
    raise RuntimeError("The watch sent no due selection (SELECT ... injection_next_check_at ... LIMIT).")


@benchmark("injection_watch", "injection watch with the same 100 transitions due, as patients grow")
def injection_watch_benchmark(options: Options) -> Report:
    sizes = QUICK_SIZES if options.quick else SIZES
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()
    report = Report(
        benchmark="injection_watch",
        description=f"injection_watch(now) turning {DUE} denosumab schedules due -> late (alert + notice each) "
        "vs the due selection and conditional UPDATEs alone",
        params={
            "sizes": list(sizes),
            "due_per_run": DUE,
            "repeat": options.repeat,
            "warmup": options.warmup,
            "database": db.describe(),
            "postgres": server_version,
        },
    )
    plan_notes: list[str] = []
    query_notes: list[str] = []
    figures: dict[str, Any] = {"plans_at_large_n": {}, "statements_per_run": {}, "populations": {}}
    for n in sizes:
        db.truncate_all()
        catalogue_sync(Medication)  # the truncation emptied the catalogue its data migration seeded
        now = clock.now()
        progress(f"N={n:,}: loading {n:,} patients with profiles and one {DRUG} schedule each ({DUE} due)")
        population = populate(n, now)
        db.vacuum_analyze()
        due_now = Schedule.objects.filter(injection_next_check_at__lte=now).count()
        if due_now != DUE:
            raise RuntimeError(f"N={n}: {due_now} schedules due at {now:%Y-%m-%d %H:%M}, expected {DUE}.")
        figures["populations"][n] = {"states": dict(population.states), "without_next_check": population.without_check}

        restore, watch, baseline = _restore(population), _watch(now), _baseline(now, population)
        # One checked run of each, comparing what they leave on the due rows and what the watch writes.
        restore()
        _check_watch(watch(), n)
        _verify_outcome(population, n, "The watch")
        _verify_writes(population, n)
        restore()
        _check_baseline(baseline(), n)
        _verify_outcome(population, n, "The baseline")

        restore()
        queries = _captured(watch, partial(_check_watch, n=n))
        statements = Counter(_statement(q) for q in queries)
        figures["statements_per_run"][n] = dict(statements)
        check_watch, check_baseline = partial(_check_watch, n=n), partial(_check_baseline, n=n)
        _vacuum_touched()
        progress(f"N={n:,}: timing the watch ({options.warmup} warm-up + {options.repeat} timed runs, restore untimed)")
        report.add(
            Row(
                "watch",
                n,
                _time_runs(restore, watch, check_watch, repeat=options.repeat, warmup=options.warmup),
                queries=len(queries),
                baseline="sql claim only",
            )
        )
        _vacuum_touched()
        progress(f"N={n:,}: timing the baseline")
        report.add(
            Row(
                "sql claim only",
                n,
                _time_runs(restore, baseline, check_baseline, repeat=options.repeat, warmup=options.warmup),
                queries=2 + DUE,
            )
        )
        if n == sizes[-1]:
            query_notes = [
                f"Statements of one watch run at N={n:,} ({len(queries)} for {DUE} transitions, "
                f"{len(queries) / DUE:.2f} per transition; the baseline's {2 + DUE} run in autocommit, no BEGIN/COMMIT "
                "statements):",
                *(f"  {count:5d}  {what}" for what, count in statements.most_common()),
            ]
            restore()
            _vacuum_touched()
            selection = _due_selection(queries)
            plan = db.explain(selection)
            figures["plans_at_large_n"]["due_selection"] = [selection, *plan]
            verdict = "uses" if INDEX in "\n".join(plan) else "does NOT use"
            plan_notes = [
                f"Due selection at N={n:,} {verdict} {INDEX} (EXPLAIN ANALYZE, {DUE} rows due):",
                f"  {selection}",
                *(f"      {line}" for line in plan),
            ]

    small, large = sizes[0], sizes[-1]
    scaling: dict[str, float] = {}
    report.notes.append(
        f"Scaling, median at N={large:,} / N={small:,} (goal for the watch: <= {SCALING_GOAL:g}; the ratio of the "
        "fastest runs, less sensitive to other load on the machine, alongside):"
    )
    for name in dict.fromkeys(row.name for row in report.rows):
        big, little = report.row(name, large), report.row(name, small)
        ratio = big.median_ms / little.median_ms
        fastest = min(big.samples_ms) / min(little.samples_ms)
        scaling[name] = round(ratio, 3)
        scaling[f"{name} (min)"] = round(fastest, 3)
        verdict = "" if name != "watch" else ("  ok" if ratio <= SCALING_GOAL else "  OVER GOAL")
        report.notes.append(f"  {name:<16} {ratio:6.2f}x{verdict}  (min {fastest:.2f}x)")
    states = ", ".join(f"{state} {count:,}" for state, count in sorted(population.states.items()))
    report.notes += [
        f"Schedules at N={large:,}: {states} ({population.without_check:,} critical without a next check; "
        f"all others at least {MIN_LEAD.days} days ahead but the {DUE} due).",
        "",
        *query_notes,
        "",
        *plan_notes,
    ]
    figures["scaling_large_over_small"] = scaling
    report.figures = figures
    return report
