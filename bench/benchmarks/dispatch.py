"""The Monday 07:00 rush: N patients whose weekly alendronate reminder falls due in the same minute, dispatched by
two real Celery worker processes on Redis into a fake FCM with a fixed latency per `send_each` call.

Setup (untimed): N patients (profiles in Europe/London, no quiet hours), a weekly alendronate schedule, one FCM
device and one pending reminder occurrence each, due a minute ago (the workers use the real clock). Two workers
(`python -m tests.fake_push_worker`: the product's worker with `firebase_admin.messaging.send_each` replaced at the
library boundary, sleeping FAKE_PUSH_LATENCY_MS per call and logging every message; a thread pool of THREADS, so
one run computes while another waits on the provider) are started and answer a ping before the clock starts.

Timed: from enqueueing one `reminders.dispatch` task, as beat does (its full first batch calls another run in, and
so on until every worker thread dispatches), until no due occurrence is pending or claimed: every
reminder claimed, decided, pushed, its delivery recorded and its nudge check set (the nudge itself is created two
hours later, only for doses still unrecorded then). Checked after each run: N sent, N deliveries, and the fake
provider handed each occurrence exactly once.

Baseline, in this process on the same rows: raw SQL that only claims (FOR UPDATE SKIP LOCKED, 500 at a time) and
marks them sent, with no provider, no delivery rows and no follow-ups.

Goals (issue 13, reported, not asserted): all N within 30 s; throughput ratio (baseline time / dispatch time) >= 0.5
(issue 5 asked for 60 s and 0.3).
"""

import json
import os
import subprocess
import sys
import tempfile
import time as timer
import uuid
from collections import Counter
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone
from push_notifications.models import GCMDevice

from apps.medications.catalogue import catalogue_sync
from apps.medications.models import Medication, ReviewStatus, Schedule
from apps.profiles.models import PatientProfile
from apps.reminders.claims import BATCH
from apps.reminders.models import Delivery, OccurrenceKind, ReminderOccurrence
from bench import db
from bench.data import BATCH_SIZE, populate_organisation
from bench.registry import Options, benchmark
from bench.report import Report, Row, progress

SIZE = 100_000
QUICK_SIZE = 5_000
WORKERS = 2
THREADS = 3  # dispatch runs per worker process: one computes while the other waits on the provider
LATENCY_MS = 100  # one send_each round trip (500 messages over HTTP/2) as the fake provider's fixed answer time
GOAL_SECONDS = 30
GOAL_THROUGHPUT_RATIO = 0.5
LONDON = ZoneInfo("Europe/London")
ROOT = Path(__file__).resolve().parents[2]
_O = connection.ops.quote_name(ReminderOccurrence._meta.db_table)
_D = connection.ops.quote_name(Delivery._meta.db_table)


@benchmark("dispatch", "Monday 07:00 rush: N reminders due in one minute, 2 worker processes vs raw-SQL claim+mark")
def dispatch_rush(options: Options) -> Report:
    n = QUICK_SIZE if options.quick else SIZE
    runs = max(1, min(options.repeat, 3 if options.quick else 2))
    broker = os.environ.get("BENCH_BROKER_URL") or os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
    if not broker.startswith("redis://"):
        raise SystemExit("The dispatch benchmark needs Redis: set BENCH_BROKER_URL=redis://host:port/db.")
    report = Report(
        benchmark="dispatch",
        description="time until N due reminders are pushed and recorded (one row = one whole rush)",
        params={
            "n": n,
            "workers": WORKERS,
            "threads_per_worker": THREADS,
            "provider_latency_ms_per_call": LATENCY_MS,
            "claim_batch": BATCH,
            "runs": runs,
            "database": db.describe(),
            "broker": broker.rsplit("@", 1)[-1],
        },
    )
    db.truncate_all()
    catalogue_sync(Medication)
    progress(f"loading {n:,} patients, schedules, devices and due reminders")
    _populate(n)

    baseline = report.add(Row("raw SQL claim + mark sent (baseline, 1 process)", n, []))
    for run in range(runs):
        _reset()
        baseline.samples_ms.append(_baseline_run() * 1000)
        progress(f"baseline run {run + 1}: {baseline.samples_ms[-1]:,.0f} ms")
    _reset()

    queue = f"bench-dispatch-{uuid.uuid4().hex[:8]}"
    log = Path(tempfile.mkstemp(prefix="bench-push-", suffix=".jsonl")[1])
    workers = [_start_worker(i, queue, broker, log) for i in range(WORKERS)]
    try:
        from config.celery_app import app

        # Django's settings were read before this benchmark chose its broker: point this process's producer there.
        app.conf.update(broker_url=broker, broker_transport_options={"socket_connect_timeout": 2})
        app.loader.import_default_modules()
        _wait_for_workers(app, WORKERS)
        dispatched = report.add(Row(f"dispatch: {WORKERS} Celery workers, fake FCM", n, [], baseline=baseline.name))
        for run in range(runs):
            _reset()
            log.write_text("")
            seconds = _dispatch_run(app, queue, n)
            dispatched.samples_ms.append(seconds * 1000)
            _check(n, log)
            progress(f"dispatch run {run + 1}: {seconds:,.1f} s ({n / seconds:,.0f} reminders/s), each pushed once")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        log.unlink(missing_ok=True)

    best = min(dispatched.samples_ms) / 1000
    median = dispatched.median_ms / 1000
    throughput_ratio = baseline.median_ms / dispatched.median_ms
    report.figures.update(
        {
            "dispatch_seconds_median": round(median, 2),
            "reminders_per_second": round(n / median),
            "baseline_reminders_per_second": round(n / (baseline.median_ms / 1000)),
            "throughput_ratio": round(throughput_ratio, 3),
            "within_goal_seconds": median <= GOAL_SECONDS,
        }
    )
    report.notes += [
        f"dispatch: median {median:,.1f} s (best {best:,.1f} s) for {n:,} reminders = {n / median:,.0f} reminders/s;"
        f" goal all within {GOAL_SECONDS} s: {'met' if median <= GOAL_SECONDS else 'NOT met'}.",
        f"throughput ratio (baseline time / dispatch time) = {throughput_ratio:.2f}; goal >= {GOAL_THROUGHPUT_RATIO}:"
        f" {'met' if throughput_ratio >= GOAL_THROUGHPUT_RATIO else 'NOT met'}. The table's ratio is its inverse.",
        f"the provider's fixed latency alone is {n / 500 * LATENCY_MS / 1000 / WORKERS:,.1f} s of each dispatch run"
        f" ({n // 500} send_each calls of {LATENCY_MS} ms over {WORKERS} workers).",
        "each dispatch run checked: every occurrence sent, one delivery row each, handed to the provider once.",
    ]
    return report


def _populate(n: int) -> None:
    rows = populate_organisation(label="Rush", patients=n, per_coordinator=200)
    PatientProfile.objects.update(timezone="Europe/London", quiet_hours_start=None, quiet_hours_end=None)
    alendronate = Medication.objects.get(code="alendronate")
    coordinator = rows.coordinators[0]
    schedules = [
        Schedule(
            patient=patient,
            medication=alendronate,
            dose="70 mg",
            unit="week",
            weekday=0,
            local_time=time(7, 0),
            starts_on=date(2026, 1, 5),
            review_status=ReviewStatus.VERIFIED,
            created_by=coordinator,
        )
        for patient in rows.patients
    ]
    Schedule.objects.bulk_create(schedules, batch_size=BATCH_SIZE)
    GCMDevice.objects.bulk_create(
        [
            GCMDevice(user_id=patient.user_id, registration_id=f"bench-token-{i}", cloud_message_type="FCM")
            for i, patient in enumerate(rows.patients)
        ],
        batch_size=BATCH_SIZE,
    )
    due_at = timezone.now() - timedelta(minutes=1)
    local = due_at.astimezone(LONDON)
    ReminderOccurrence.objects.bulk_create(
        [
            ReminderOccurrence(
                patient=schedule.patient,
                source_kind="medication",
                source_id=schedule.pk,
                kind=OccurrenceKind.REMINDER,
                local_date=local.date(),
                local_time=local.time().replace(microsecond=0),
                dose_date=local.date(),
                due_at=due_at,
                expires_at=due_at + timedelta(hours=3),  # the fasting bisphosphonate's window (DOMAIN A1)
                text_generic="Time for your weekly medicine",
                text_detailed="Time for your alendronate 70 mg: with a full glass of water, then stay upright",
                next_attempt_at=due_at,
            )
            for schedule in schedules
        ],
        batch_size=BATCH_SIZE,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _reset() -> None:
    """Every reminder pending and due again; the previous run's deliveries and follow-ups gone."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_D}")
        cursor.execute(f"DELETE FROM {_O} WHERE kind <> %s", [OccurrenceKind.REMINDER])
        cursor.execute(
            f"UPDATE {_O} SET state = 'pending', attempts = 0, claimed_until = NULL, finished_at = NULL, reason = '',"
            " next_attempt_at = due_at, follow_up_at = NULL"
        )
    with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
        cursor.execute(f"VACUUM ANALYZE {_O}")


def _baseline_run() -> float:
    """Claim 500 at a time with SKIP LOCKED and mark them sent: the least SQL a dispatcher needs."""
    started = timer.perf_counter()
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""WITH due AS (
                        SELECT id FROM {_O}
                        WHERE state = 'pending' AND next_attempt_at <= now()
                        ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED)
                    UPDATE {_O} o SET state = 'claimed', claimed_until = now() + interval '2 minutes'
                    FROM due WHERE o.id = due.id RETURNING o.id""",
                [BATCH],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                break
            cursor.execute(
                f"UPDATE {_O} SET state = 'sent', attempts = attempts + 1, finished_at = now() WHERE id = ANY(%s)",
                [ids],
            )
    return timer.perf_counter() - started


def _start_worker(index: int, queue: str, broker: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": db.database_url(),
        "CELERY_BROKER_URL": broker,
        "DJANGO_DEBUG": "false",
        "FAKE_PUSH_LOG": str(log),
        "FAKE_PUSH_LATENCY_MS": str(LATENCY_MS),
    }
    command = [
        sys.executable,
        "-m",
        "tests.fake_push_worker",
        "--pool=threads",
        f"--concurrency={THREADS}",
        "--without-gossip",
        "--without-mingle",
        "-Q",
        queue,
        "-n",
        f"bench{index}-{queue}@%h",
        "-l",
        "WARNING",
    ]
    # The banner would land in the table on stdout; warnings and errors still reach stderr.
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def _wait_for_workers(app: Any, count: int, timeout: float = 120) -> None:
    deadline = timer.monotonic() + timeout
    while timer.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if sum(1 for reply in replies for name in reply if name.startswith("bench")) >= count:
            return
    raise SystemExit(f"{count} benchmark workers did not answer within {timeout:.0f} s")


def _dispatch_run(app: Any, queue: str, n: int) -> float:
    now = timezone.now()
    remaining = ReminderOccurrence.objects.filter(state__in=["pending", "claimed"], due_at__lte=now)
    started = timer.perf_counter()
    # One run, as beat enqueues it each minute: its full first batch calls the other worker in.
    app.tasks["reminders.dispatch"].apply_async(queue=queue)
    # Done when nothing due is left and every delivery row is written (they follow each batch's final update).
    while remaining.exists() or Delivery.objects.count() < n:
        if timer.perf_counter() - started > 30 * GOAL_SECONDS:
            raise SystemExit("dispatch did not finish within 30 minutes")
        timer.sleep(0.1)
    return timer.perf_counter() - started


def _check(n: int, log: Path) -> None:
    states = Counter(ReminderOccurrence.objects.filter(kind="reminder").values_list("state", flat=True))
    pushed = Counter(json.loads(line)["occurrence"] for line in log.read_text().splitlines() if line)
    deliveries = Delivery.objects.filter(outcome="sent").count()
    if states != {"sent": n} or deliveries != n or len(pushed) != n or set(pushed.values()) != {1}:
        raise SystemExit(
            f"dispatch check failed: states {dict(states)}, {deliveries} deliveries, {len(pushed)} occurrences pushed"
            f" ({sum(pushed.values())} messages)"
        )
