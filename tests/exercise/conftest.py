"""Fixtures of the exercise tests: a frozen clock per module and an on-target week builder."""

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

import pytest
import time_machine

from apps.accounts.models import Patient
from tests.exercise.factories import local, make_session


@pytest.fixture
def frozen() -> Iterator[Callable[[datetime], None]]:
    """Call with an aware instant to stop the clock there for the rest of the test."""
    travellers: list[time_machine.travel] = []

    def at(instant: datetime) -> None:
        traveller = time_machine.travel(instant, tick=False)
        traveller.start()
        travellers.append(traveller)

    yield at
    for traveller in reversed(travellers):
        traveller.stop()


def add_on_target_week(patient: Patient, monday: date) -> None:
    """Exactly the DOMAIN targets in the local week starting `monday`: 3 x 50 minutes weight-bearing (E1),
    resistance on 2 days (E2), 2 balance sessions (E3)."""
    for offset in (0, 2, 4):
        make_session(patient, "weight_bearing", 50, local(monday + timedelta(days=offset), 8))
    for offset in (1, 3):
        make_session(patient, "resistance", 20, local(monday + timedelta(days=offset), 18))
    make_session(patient, "balance", 15, local(monday + timedelta(days=1), 19))
    make_session(patient, "balance", 15, local(monday + timedelta(days=5), 10))


@pytest.fixture
def on_target_week() -> Callable[[Patient, date], None]:
    return add_on_target_week
