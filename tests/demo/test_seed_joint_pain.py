"""The demo's patient whose joint pain is rising (issue 15): seven weekly check-ins up to last week, crossing the J3
line of 4, the last reporting missed aromatase-inhibitor doses; seeded once however often the command runs, and
shown on her console page."""

from datetime import timedelta
from itertools import pairwise

from django.core.management import call_command
from django.test import Client

from apps.accounts.models import User
from apps.joint_pain.models import JointPainCheckIn
from backend import clock


def test_rosas_joint_pain_rises_and_is_seeded_once(db: None) -> None:
    call_command("seed_demo")
    call_command("seed_demo")
    rows = list(JointPainCheckIn.objects.filter(patient__user__email="rosa@demo.bonesync.test").order_by("week_of"))
    assert [r.worst_pain for r in rows] == [2, 2, 3, 3, 4, 5, 6]
    assert [r.ai_impact for r in rows][-2:] == ["none", "missed"]
    assert JointPainCheckIn.objects.count() == 7  # nobody else, and not twice
    rosa = rows[0].patient
    today = clock.local_today(rosa.profile.timezone)
    weeks = [r.week_of for r in rows]
    assert weeks[-1] == today - timedelta(days=today.weekday() + 7)  # last week
    assert all((b - a).days == 7 for a, b in pairwise(weeks))  # one a week, no gap

    client = Client()
    client.force_login(User.objects.get(email="nina.coordinator@demo.bonesync.test"))
    page = client.get(f"/console/patients/{rosa.pk}/").content.decode()
    assert "Joint pain (weekly check-in)" in page and "6/10" in page and "J3 alert line (4)" in page
