"""Production settings refuse to start unsafe; the embedded defaults work without any environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET = "x" * 20 + "-a-long-random-production-secret-0123456789"


def boot(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        (
            {"DJANGO_SECRET_KEY": GOOD_SECRET, "DJANGO_ALLOWED_HOSTS": "api.example.org", "DJANGO_DEBUG": "true"},
            "DJANGO_DEBUG must be off",
        ),
        ({"DJANGO_ALLOWED_HOSTS": "api.example.org"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "short", "DJANGO_ALLOWED_HOSTS": "api.example.org"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": GOOD_SECRET}, "DJANGO_ALLOWED_HOSTS"),
    ],
    ids=["debug-on", "default-secret", "short-secret", "no-hosts"],
)
def test_production_refuses_unsafe_settings(env: dict[str, str], complaint: str) -> None:
    result = boot(DJANGO_ENV="production", **env)
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert complaint in result.stderr


@pytest.mark.parametrize("value", ["Production", "prod", "production ", "staging", ""])
def test_an_unknown_django_env_refuses_to_start(value: str) -> None:
    # Even fully configured for production: a typo must not quietly run development settings (public secret key).
    result = boot(DJANGO_ENV=value, DJANGO_SECRET_KEY=GOOD_SECRET, DJANGO_ALLOWED_HOSTS="api.example.org")
    assert result.returncode != 0
    assert f"Refusing to start: DJANGO_ENV={value!r} is not one of development, production" in result.stderr
    assert "started" not in result.stdout


def test_a_negative_trusted_proxy_count_refuses_to_start() -> None:
    result = boot(TRUSTED_PROXY_COUNT="-1")
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT" in result.stderr


def test_trusted_proxy_count_sets_the_client_address_rule() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from rest_framework.settings import api_settings as a; "
            "print(a.NUM_PROXIES)",
        ],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TRUSTED_"))}
        | {"DJANGO_SETTINGS_MODULE": "config.settings", "TRUSTED_PROXY_COUNT": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1"]


def test_production_starts_when_configured() -> None:
    result = boot(DJANGO_ENV="production", DJANGO_SECRET_KEY=GOOD_SECRET, DJANGO_ALLOWED_HOSTS="api.example.org")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_development_needs_no_environment() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.DEBUG, "
            "s.DATABASES['default']['OPTIONS']['transaction_mode'])",
        ],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))}
        | {"DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # IMMEDIATE: web, worker and beat share the SQLite file; a read-then-write transaction waits for the lock.
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://", "True", "IMMEDIATE"]


def _second_factor_and_docs(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "STAFF_", "API_"))}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print([s.STAFF_MFA_REQUIRED, s.API_DOCS_PUBLIC])",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


PRODUCTION = {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": GOOD_SECRET, "DJANGO_ALLOWED_HOSTS": "api.example.org"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (PRODUCTION, "[True, False]"),  # a second factor for staff; schema and docs for signed-in staff only
        ({}, "[False, True]"),  # the embedded demo: optional; docs public
        ({**PRODUCTION, "STAFF_MFA_REQUIRED": "false", "API_DOCS_PUBLIC": "true"}, "[False, True]"),
    ],
    ids=["production", "development", "production-overridden"],
)
def test_second_factor_and_docs_defaults(env: dict[str, str], expected: str) -> None:
    assert _second_factor_and_docs(**env) == expected
