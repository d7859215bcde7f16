"""The OpenAPI schema against the real thing: schemathesis with every check (`--checks all`) against gunicorn under
production settings (DJANGO_ENV=production: DEBUG off, HTTPS redirects, throttles, MFA required for staff sign-in),
on a PostgreSQL database of its own seeded with the demo organisation, once with a patient's access token and once
with a coordinator's. Schema-valid and schema-violating requests, the coverage, fuzzing and stateful phases.

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
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
PYTHON = sys.executable
EXAMPLES_PER_OPERATION = 5

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_urls() -> tuple[str, str, str]:
    """The server URL, the live database's name and its URL: the suite's database name with `_contract`."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.fail("the live contract test needs DATABASE_URL pointing at PostgreSQL", pytrace=False)
    server, _, name = url.rpartition("/")
    live = f"{name.split('?')[0]}_contract"
    return server, live, f"{server}/{live}"


def _recreate(server: str, name: str, *, drop_only: bool = False) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - our own fixed command
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    server, name, database_url = _database_urls()
    _recreate(server, name)
    work = tmp_path_factory.mktemp("contract")
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "contract-run-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_DEBUG", None)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "seed_demo")
    _manage(env, "spectacular", "--file", str(work / "schema.yaml"))
    seeded = json.loads(_manage(env, "shell", "--no-imports", stdin=(ROOT / "tests/contract/live_ids.py").read_text()))
    port = _free_port()
    log = (work / "gunicorn.log").open("w")
    gunicorn = subprocess.Popen(  # noqa: S603 - our own fixed command
        [PYTHON, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, gunicorn)
        yield {"base_url": base_url, "schema": work / "schema.yaml", "log": work / "gunicorn.log", **seeded}
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)
        log.close()
        _recreate(server, name, drop_only=True)


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


@pytest.mark.parametrize("role", ["patient", "coordinator"])
def test_schemathesis_finds_nothing_against_the_contract_server(contract_server: dict[str, object], role: str) -> None:
    ids = contract_server["ids"]
    assert isinstance(ids, dict)
    tokens = contract_server["tokens"]
    assert isinstance(tokens, dict)
    env = {
        **os.environ,
        "BONESYNC_CONTRACT_TOKEN": tokens[role],
        **{f"BONESYNC_{name.upper()}": value for name, value in ids.items()},
    }
    done = subprocess.run(  # noqa: S603 - our own fixed command
        [
            str(Path(PYTHON).with_name("schemathesis")),
            "--config-file",
            str(CONFIG),
            "run",
            str(contract_server["schema"]),
            "--url",
            str(contract_server["base_url"]),
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
        capture_output=True,
        text=True,
        timeout=900,
    )
    server_log = Path(str(contract_server["log"])).read_text()[-5000:]
    report = f"schemathesis as {role}:\n{done.stdout[-20000:]}\n{done.stderr}\nserver:\n{server_log}"
    assert done.returncode == 0, report
    selected, total = map(int, re.search(r"Selected: (\d+)/(\d+)", done.stdout).groups())  # type: ignore[union-attr]
    tested = int(re.search(r"Tested: (\d+)", done.stdout).group(1))  # type: ignore[union-attr]
    assert selected == total == tested, f"{tested} of {total} operations tested as {role}:\n{done.stdout[-5000:]}"
