"""The OpenAPI schema against the real thing: schemathesis with every check (`--checks all`) against gunicorn under
production settings (DJANGO_ENV=production: DEBUG off, HTTPS redirects, throttles, MFA required for staff sign-in),
on a PostgreSQL database of its own seeded with the demo organisation, once with a patient's access token and once
with a coordinator's. Schema-valid and schema-violating requests, the coverage, fuzzing and stateful phases.

The two roles run at the same time, each against its own gunicorn on its own copy of the seeded database (made
from the first with CREATE DATABASE ... TEMPLATE) and its own cache key prefix, so neither sees the other's writes
or throttle counters: each run is what it would be alone. Both start when the module's fixture is set up; each test
waits for its own role's run and judges it.

The run is bounded (a few examples per operation, deterministic) to keep CI short; tests/api/test_schemathesis.py
fuzzes in-process with real ids in and out of scope for every role. Rules the schema cannot state are listed, with
why, in tests/contract/schemathesis.toml.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.parallel import prefixed, worker_suffix

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
PYTHON = sys.executable
EXAMPLES_PER_OPERATION = 5

ROLES = ("patient", "coordinator")

# Under xdist both roles' tests are the first two of the run (tests/parallel.py), so `--dist load` hands them to one
# worker in its first batch and they share this module's fixture. (Were they split, each worker would run both roles
# for itself: slower, still correct.)
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_server() -> tuple[str, str]:
    """The server URL and the live databases' stem: the suite's database name with `_contract` (and the xdist
    worker's suffix); the roles' databases are the stem with `_patient` and `_coordinator`."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.fail("the live contract test needs DATABASE_URL pointing at PostgreSQL", pytrace=False)
    server, _, name = url.rpartition("/")
    return server, f"{name.split('?')[0]}_contract{worker_suffix()}"


def _recreate(server: str, name: str, *, drop_only: bool = False, template: str | None = None) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if template is not None:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
            )
        elif not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - our own fixed command
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class RoleRun:
    """One role's schemathesis run, started by the fixture, against its own gunicorn and database."""

    role: str
    base_url: str
    server_log: Path
    output: Path
    process: subprocess.Popen[bytes] | None = None


@pytest.fixture(scope="module")
def contract_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RoleRun]]:
    server, stem = _database_server()
    databases = {role: f"{stem}_{role}" for role in ROLES}
    work = tmp_path_factory.mktemp("contract")
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "contract-run-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_DEBUG", None)
    # Seeded once; the other role's database is a copy (same users and ids, so the same tokens and ids serve both).
    first, *others = ROLES
    _recreate(server, databases[first])
    seed_env = {**env, "DATABASE_URL": f"{server}/{databases[first]}"}
    _manage(seed_env, "migrate", "--noinput", "-v", "0")
    _manage(seed_env, "seed_demo")
    _manage(seed_env, "spectacular", "--file", str(work / "schema.yaml"))
    seeded = json.loads(
        _manage(seed_env, "shell", "--no-imports", stdin=(ROOT / "tests/contract/live_ids.py").read_text())
    )
    for role in others:
        _recreate(server, databases[role], template=databases[first])
    runs: dict[str, RoleRun] = {}
    servers: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for role in ROLES:
            port = _free_port()
            log = (work / f"gunicorn-{role}.log").open("w")
            logs.append(log)
            server_env = {
                **env,
                "DATABASE_URL": f"{server}/{databases[role]}",
                # The role's own cache namespace: throttle and sign-in counters start from nothing, as if alone.
                "CACHE_KEY_PREFIX": prefixed(env.get("CACHE_KEY_PREFIX", ""), f"contract-{role}"),
            }
            servers.append(
                subprocess.Popen(  # noqa: S603 - our own fixed command
                    [
                        PYTHON,
                        "-m",
                        "gunicorn",
                        "config.wsgi:application",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "2",
                        "--limit-request-line",  # as docker/entrypoint.sh: long query strings reach the API
                        "8190",
                    ],
                    cwd=ROOT,
                    env=server_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            runs[role] = RoleRun(role, f"http://127.0.0.1:{port}", work / f"gunicorn-{role}.log", work / f"{role}.out")
        for run, gunicorn in zip(runs.values(), servers, strict=True):
            _wait_until_healthy(run.base_url, gunicorn)
        for run in runs.values():
            run.process = _start_schemathesis(run, work / "schema.yaml", seeded)
        yield runs
    finally:
        for run in runs.values():
            if run.process is not None and run.process.poll() is None:
                run.process.kill()
                run.process.wait(timeout=30)
        for gunicorn in servers:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            gunicorn.wait(timeout=30)
        for log in logs:
            log.close()
        for name in databases.values():
            _recreate(server, name, drop_only=True)


def _start_schemathesis(run: RoleRun, schema: Path, seeded: dict[str, dict[str, str]]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BONESYNC_CONTRACT_TOKEN": seeded["tokens"][run.role],
        "BONESYNC_CONTRACT_CACHE": str(run.output.with_suffix(".cache")),
        **{f"BONESYNC_{name.upper()}": value for name, value in seeded["ids"].items()},
    }
    with run.output.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 - our own fixed command
            [
                str(Path(PYTHON).with_name("schemathesis")),
                "--config-file",
                str(CONFIG),
                "run",
                str(schema),
                "--url",
                run.base_url,
                "--checks",
                "all",
                "--max-examples",
                str(EXAMPLES_PER_OPERATION),
                "--workers",
                "1",
                "--no-color",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _wait_until_healthy(base_url: str, process: subprocess.Popen[bytes]) -> None:
    request = urllib.request.Request(f"{base_url}/api/v1/health/", headers={"X-Forwarded-Proto": "https"})  # noqa: S310
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited before it served a request"
        try:
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - http://127.0.0.1 only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail("gunicorn did not answer /api/v1/health/ within 60 s")


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_nothing_against_the_contract_server(contract_runs: dict[str, RoleRun], role: str) -> None:
    run = contract_runs[role]
    assert run.process is not None
    returncode = run.process.wait(timeout=900)
    stdout = run.output.read_text()
    server_log = run.server_log.read_text()[-5000:]
    report = f"schemathesis as {role}:\n{stdout[-20000:]}\nserver:\n{server_log}"
    assert returncode == 0, report
    selected, total = map(int, re.search(r"Selected: (\d+)/(\d+)", stdout).groups())  # type: ignore[union-attr]
    tested = int(re.search(r"Tested: (\d+)", stdout).group(1))  # type: ignore[union-attr]
    assert selected == total == tested, f"{tested} of {total} operations tested as {role}:\n{stdout[-5000:]}"
