"""Periodic jobs: `runjob` by hand, and a real Celery worker on the CI Redis running one end to end."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from tests.conftest import World

ROOT = Path(__file__).resolve().parents[2]


def expire(token: RefreshToken) -> None:
    OutstandingToken.objects.filter(jti=token["jti"]).update(expires_at=timezone.now() - timedelta(minutes=1))


def test_runjob_lists_the_beat_schedule(capsys) -> None:
    call_command("runjob", "--list")
    assert "flush_expired_tokens" in capsys.readouterr().out


def test_runjob_flushes_only_expired_tokens(world: World, capsys) -> None:
    old, fresh = RefreshToken.for_user(world.cora), RefreshToken.for_user(world.cora)
    expire(old)
    call_command("runjob", "flush_expired_tokens")
    assert '"expired_tokens_deleted": 1' in capsys.readouterr().out
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [fresh["jti"]]
    call_command("runjob", "flush_expired_tokens")  # a second run finds nothing more to do
    assert '"expired_tokens_deleted": 0' in capsys.readouterr().out


def test_runjob_refuses_unknown_names() -> None:
    with pytest.raises(CommandError, match="Unknown job"):
        call_command("runjob", "no_such_job")


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_real_worker_on_redis_runs_a_job(world: World) -> None:
    from config.celery_app import app

    token = RefreshToken.for_user(world.cora)
    expire(token)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            "test-worker",
            "-n",
            "test-worker@%h",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # The project's tasks as the worker loads them; not left to an earlier test in this process having done it.
        app.loader.import_default_modules()
        app.tasks["accounts.flush_expired_tokens"].apply_async(queue="test-worker")
        deadline = time.monotonic() + 60
        while OutstandingToken.objects.filter(jti=token["jti"]).exists():
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            assert time.monotonic() < deadline, "worker did not run the job within 60 s"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
