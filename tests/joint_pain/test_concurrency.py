"""Two check-ins of one week racing (two phones, or a retry after a lost answer with a new id): her patient row is
locked, so the second waits, then replaces the first; one check-in stays and one alert is raised (PostgreSQL)."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import Patient
from apps.alerts.models import Alert
from apps.joint_pain.models import JointPainCheckIn
from apps.joint_pain.services import CheckInOutcome, check_in_record
from tests.concurrency import at_once
from tests.conftest import World

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_check_ins_of_one_week_racing_leave_one(world: World) -> None:
    ids = [uuid.uuid4(), uuid.uuid4()]
    taken = threading.Lock()
    answered_at = timezone.now() - timedelta(minutes=30)

    def record() -> CheckInOutcome:
        with taken:
            check_in_id = ids.pop()
        patient = Patient.objects.select_related("profile").get(pk=world.ann.pk)
        return check_in_record(
            actor=patient.user,
            patient=patient,
            id=check_in_id,
            answered_at=answered_at,
            worst_pain=6,
            stiffness=4,
            interfered=True,
        )

    outcomes = at_once(record)
    assert [o.created for o in outcomes] == [True, True]
    # Which finished first is the scheduler's call: the first to take the lock replaced nothing.
    first, second = sorted(outcomes, key=lambda o: o.replaced is not None)
    assert first.replaced is None and second.replaced == first.check_in.id
    assert list(JointPainCheckIn.objects.values_list("id", flat=True)) == [second.check_in.id]
    assert Alert.objects.filter(patient=world.ann, kind="joint_pain").count() == 1
