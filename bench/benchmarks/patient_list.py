"""GET /api/v1/patients/ (first page of 50) for a coordinator and a pharmacist, as the organisation grows.

Through the whole in-process Django stack (middleware, URL resolution, DRF, pagination, serializer, JSON rendering,
the audit insert) with APIClient.force_authenticate on a kept-open connection: no WSGI server, no network, no token
check. The baseline, measured in the same run on the same rows, is the least SQL that yields the same page: the same
scope join, COUNT(*) and the 50 rows' columns, through the raw psycopg cursor of Django's connection.

Goal (reported, not asserted): page latency roughly independent of N, median at large N / small N <= 2.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import connection
from rest_framework.test import APIClient

from apps.accounts.models import CareTeamAssignment, Patient, User
from apps.profiles.models import PatientProfile
from apps.profiles.services import PROFILE_FIELDS
from backend.pagination import PagePagination
from bench import db
from bench.data import populate_organisation, spread_enrolment_dates
from bench.measure import capture_queries, time_calls
from bench.registry import Options, benchmark
from bench.report import Report, Row, progress

SIZES = (1_000, 20_000)
QUICK_SIZES = (200, 2_000)
ASSIGNED = 50  # patients per coordinator
OTHER_ORGANISATIONS = 4  # holding another N patients between them, so the organisation filter has work to do
SCALING_GOAL = 2.0
URL = "/api/v1/patients/"
PAGE_SIZE = PagePagination.page_size

_P = connection.ops.quote_name(Patient._meta.db_table)
_U = connection.ops.quote_name(User._meta.db_table)
_PR = connection.ops.quote_name(PatientProfile._meta.db_table)
_C = connection.ops.quote_name(CareTeamAssignment._meta.db_table)
_COLUMNS = ", ".join(
    [
        "p.id",
        "p.organisation_id",
        "p.created_at",
        "u.email",
        "u.full_name",
        *(f"pr.{name}" for name in (*PROFILE_FIELDS, "updated_at")),
    ]
)


@dataclass(frozen=True)
class Scope:
    """The SQL of one role's scope: the same join and filter as backend.access.patient_scope."""

    join: str
    where: str
    params: dict[str, UUID]


def _scope(user: User) -> Scope:
    assert user.organisation_id is not None
    if user.role == "pharmacist":
        return Scope("", "p.organisation_id = %(org)s", {"org": user.organisation_id})
    return Scope(
        f"JOIN {_C} c ON c.patient_id = p.id",
        "p.organisation_id = %(org)s AND c.staff_id = %(staff)s",
        {"org": user.organisation_id, "staff": user.pk},
    )


def _baseline(user: User) -> Callable[[], tuple[int, list[str]]]:
    scope = _scope(user)
    count_sql = f"SELECT COUNT(*) FROM {_P} p {scope.join} WHERE {scope.where}"
    page_sql = (
        f"SELECT {_COLUMNS} FROM {_P} p JOIN {_U} u ON u.id = p.user_id JOIN {_PR} pr ON pr.patient_id = p.id "
        f"{scope.join} WHERE {scope.where} ORDER BY p.created_at, p.id LIMIT {PAGE_SIZE}"
    )

    def call() -> tuple[int, list[str]]:
        connection.ensure_connection()
        raw: Any = connection.connection  # the psycopg connection under Django's wrapper
        with raw.cursor() as cursor:
            cursor.execute(count_sql, scope.params)
            (count,) = cursor.fetchone()
            cursor.execute(page_sql, scope.params)
            rows = cursor.fetchall()
        return count, [str(row[0]) for row in rows]

    return call


def _endpoint(user: User) -> Callable[[], tuple[int, list[str]]]:
    client = APIClient()
    client.force_authenticate(user=user)

    def call() -> tuple[int, list[str]]:
        response: Any = client.get(URL)
        if response.status_code != 200:
            raise RuntimeError(f"GET {URL} answered {response.status_code}: {response.content[:300]!r}")
        return response.data["count"], [str(item["id"]) for item in response.data["results"]]

    return call


_INDEX = re.compile(r"(Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\S+)")
_SEQ = re.compile(r"Seq Scan on (\S+)")
_SORT = re.compile(r"Sort Method: ([^:]+?)\s+Memory")


def _plan_summary(plan: list[str]) -> str:
    text = "\n".join(plan)
    indexes = sorted({m.group(2) for m in _INDEX.finditer(text)})
    seqs = sorted({m.group(1) for m in _SEQ.finditer(text)})
    sorts = sorted({m.group(1) for m in _SORT.finditer(text)})
    timing = next((line.strip() for line in plan if line.startswith("Execution Time")), "")
    parts = [f"indexes: {', '.join(indexes) or 'none'}", f"seq scans: {', '.join(seqs) or 'none'}"]
    if sorts:
        parts.append(f"sort: {', '.join(sorts)}")
    if timing:
        parts.append(timing.lower())
    return "; ".join(parts)


def _statement(query: str) -> str:
    """A few words naming a captured statement: "SELECT COUNT(*) FROM accounts_patient", "INSERT INTO ..."."""
    words = query.replace('"', "").split()
    if words[0] == "SELECT" and "FROM" in words:
        what = "COUNT(*)" if words[1] == "COUNT(*)" else "..."
        return f"SELECT {what} FROM {words[words.index('FROM') + 1]}"
    return " ".join(words[:3])


def _plans(role: str, queries: list[str], *, verbose: bool) -> tuple[list[str], dict[str, list[str]]]:
    """EXPLAIN ANALYZE of the endpoint's SELECTs on patients: a summary line each, the whole plan of the count query
    (short) and, when verbose, of the page query."""
    notes = [f"  {role} request sends: {'; '.join(_statement(q) for q in queries)}"]
    plans: dict[str, list[str]] = {}
    for query in queries:
        if not query.lstrip().upper().startswith("SELECT") or _P not in query:
            continue
        kind = "count" if query.lstrip().upper().startswith("SELECT COUNT(") else "page"
        plan = db.explain(query)
        plans[kind] = [query, *plan]
        notes.append(f"  {role} {kind} query -> {_plan_summary(plan)}")
        if kind == "count" or verbose:
            notes += [f"      {line}" for line in plan]
    return notes, plans


@benchmark("patient_list", "scoped patient list, first page of 50, for a coordinator and a pharmacist as N grows")
def patient_list(options: Options) -> Report:
    sizes = QUICK_SIZES if options.quick else SIZES
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()
    report = Report(
        benchmark="patient_list",
        description=f"GET {URL} (page 1 of {PAGE_SIZE}) vs the least SQL giving the same page",
        params={
            "sizes": list(sizes),
            "coordinator_patients": ASSIGNED,
            "other_organisations": f"{OTHER_ORGANISATIONS} holding N more",
            "repeat": options.repeat,
            "warmup": options.warmup,
            "database": db.describe(),
            "postgres": server_version,
        },
    )
    large_plans: dict[str, Any] = {}
    plan_notes: list[str] = []
    for n in sizes:
        db.truncate_all()
        progress(f"N={n:,}: loading {n:,} patients in the organisation and {n:,} in {OTHER_ORGANISATIONS} others")
        target = populate_organisation(label=f"N{n}", patients=n, per_coordinator=ASSIGNED)
        for k in range(OTHER_ORGANISATIONS):
            populate_organisation(label=f"N{n} other {k}", patients=n // OTHER_ORGANISATIONS, per_coordinator=ASSIGNED)
        spread_enrolment_dates()
        db.vacuum_analyze()
        cases = [("coordinator", target.coordinators[0], ASSIGNED), ("pharmacist", target.pharmacist, n)]
        for role, user, expected in cases:
            endpoint, baseline = _endpoint(user), _baseline(user)
            api_count, api_ids = endpoint()
            sql_count, sql_ids = baseline()
            if (api_count, api_ids) != (sql_count, sql_ids) or api_count != expected or len(api_ids) != PAGE_SIZE:
                raise RuntimeError(
                    f"{role} at N={n}: endpoint gave {api_count} rows, page {api_ids[:3]}..., baseline {sql_count}, "
                    f"page {sql_ids[:3]}..., expected {expected}: the baseline no longer measures the same thing."
                )
            queries = capture_queries(endpoint)
            progress(f"N={n:,}: timing {role} ({options.warmup} warm-up + {options.repeat} timed calls each)")
            report.add(
                Row(
                    f"{role} api",
                    n,
                    time_calls(endpoint, repeat=options.repeat, warmup=options.warmup),
                    queries=len(queries),
                    baseline=f"{role} sql",
                )
            )
            report.add(
                Row(f"{role} sql", n, time_calls(baseline, repeat=options.repeat, warmup=options.warmup), queries=2)
            )
            if n == sizes[-1]:
                notes, plans = _plans(role, queries, verbose=options.verbose)
                plan_notes += notes
                large_plans[role] = plans

    small, large = sizes[0], sizes[-1]
    scaling: dict[str, float] = {}
    report.notes.append(f"Scaling, median at N={large:,} / N={small:,} (goal for api rows: <= {SCALING_GOAL:g}):")
    for name in dict.fromkeys(row.name for row in report.rows):
        ratio = report.row(name, large).median_ms / report.row(name, small).median_ms
        scaling[name] = round(ratio, 3)
        verdict = "" if not name.endswith("api") else ("  ok" if ratio <= SCALING_GOAL else "  OVER GOAL")
        report.notes.append(f"  {name:<16} {ratio:6.2f}x{verdict}")
    report.notes += [
        "",
        f"Plans of the endpoint's own queries at N={large:,} (EXPLAIN ANALYZE; --verbose for whole page plans):",
        *plan_notes,
    ]
    report.figures = {"scaling_large_over_small": scaling, "plans_at_large_n": large_plans}
    return report
