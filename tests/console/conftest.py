"""Console fixtures: signed-in Django test clients per user, a critical denosumab alert, a schedule with a high
finding, and Playwright pointed at Debian's Chromium (never a downloaded browser)."""

import os
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from apps.accounts.models import Patient, User
from apps.alerts.jobs import injection_watch
from apps.alerts.models import Alert
from apps.medications.models import Schedule
from tests.factories import BoneDensityFactory, make_schedule

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def console_for() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def _local_noon(patient: Patient, day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(patient.profile.timezone))


def make_critical_denosumab_alert(patient: Patient, *, due_days_ago: int = 120) -> Alert:
    """A real alert through the injection watch: denosumab due `due_days_ago` days ago, never given (> 112 days:
    critical, urgent). Time is moved only while creating it, so the pages read today's clock."""
    today = date.today()
    due = today - timedelta(days=due_days_ago)
    with time_machine.travel(_local_noon(patient, due - timedelta(days=30)), tick=False):
        make_schedule(patient, "denosumab", starts_on=due)
    injection_watch()
    return Alert.objects.get(patient=patient, kind="denosumab_critical")


def make_high_finding_schedule(patient: Patient) -> Schedule:
    """Alendronate next to a pending denosumab: two anti-resorptives at once, a high finding (DOMAIN checks)."""
    make_schedule(patient, "alendronate")
    return make_schedule(patient, "denosumab")


def add_dxa_history(patient: Patient) -> None:
    for measured_on, spine, neck in [
        (date(2022, 3, 1), "-1.6", "-1.2"),
        (date(2024, 3, 4), "-2.1", "-1.5"),
        (date(2026, 3, 2), "-2.4", "-1.8"),
    ]:
        BoneDensityFactory.create(patient=patient, measured_on=measured_on, site="lumbar_spine", t_score=spine)
        BoneDensityFactory.create(patient=patient, measured_on=measured_on, site="femoral_neck", t_score=neck)


@pytest.fixture(scope="session")
def _async_unsafe_while_playwright_runs() -> Iterator[None]:
    """Playwright's sync API keeps an event loop running in this thread from its start to the end of the session,
    so Django's ORM would refuse every query made here after it (SynchronousOnlyOperation, TOOLING.md). Allowed
    from the moment Playwright starts, and only then: a run without browser tests keeps Django's check."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def playwright(_async_unsafe_while_playwright_runs: None, playwright: Any) -> Any:
    """pytest-playwright's own fixture, started after the line above (arguments are set up in order)."""
    return playwright


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1366, "height": 900}}  # a laptop screen
