"""Reads of her weekly joint-pain check-ins for display (the console's trend card): no writes, no access checks (the
caller reached the patient through backend.access and audits the read)."""

from dataclasses import dataclass
from datetime import date, timedelta

from apps.accounts.models import Patient
from apps.joint_pain.models import JointPainCheckIn
from apps.joint_pain.rules import WORST_PAIN_THRESHOLD
from backend import clock

# DOMAIN J3: worst pain of 4 or more alerts her coordinator, drawn as the chart's alert line.
ALERT_LINE = WORST_PAIN_THRESHOLD
CHART_WEEKS = 26  # design: half a year of weekly answers, enough to see a trend start and an episode end


@dataclass(frozen=True)
class CheckInHistory:
    latest: JointPainCheckIn | None  # her newest check-in, however old
    weeks: list[JointPainCheckIn]  # those of the last `weeks` weeks of hers, oldest first
    since: date  # the Monday of the first of those weeks
    alert_line: int = ALERT_LINE

    @property
    def empty(self) -> bool:
        return self.latest is None


def check_ins_for_chart(patient: Patient, *, weeks: int = CHART_WEEKS) -> CheckInHistory:
    """Her check-ins of the last `weeks` weeks of her local calendar (this week included), and her latest, in one
    query whatever she answered (at most one check-in a week, so `weeks` rows reach back far enough)."""
    today = clock.local_today(patient.profile.timezone)
    since = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    rows = list(JointPainCheckIn.objects.filter(patient=patient).order_by("-week_of")[:weeks])
    return CheckInHistory(
        latest=rows[0] if rows else None,
        weeks=[row for row in reversed(rows) if row.week_of >= since],
        since=since,
    )
