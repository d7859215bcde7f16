"""The patient page's joint-pain card (console/patient_joint_pain.html): her weekly check-ins as a chart drawn for a
laptop and for a phone, the table beside it and her latest answers (DOMAIN J2-J3)."""

from datetime import date
from typing import Any

from django import template

from apps.console import charts
from apps.joint_pain.history import CHART_WEEKS, check_ins_for_chart
from apps.joint_pain.models import JointPainCheckIn
from backend import clock

register = template.Library()

SCORE_RANGE = (0.0, 10.0)  # DOMAIN J2: both answers are 0-10 scores, drawn on their whole scale
# Weekly points put a month label ("Nov 2026", centred) at the plot's right edge: room for its half on a phone.
PHONE_SIZE: dict[str, Any] = {**charts.PHONE_LINES, "right_pad": 36.0}


def _chart(weeks: list[JointPainCheckIn], alert_line: int, **size: Any) -> charts.LineChart:
    series: dict[str, list[tuple[date, float]]] = {
        "Worst pain": [(row.week_of, float(row.worst_pain)) for row in weeks],
        "Stiffness": [(row.week_of, float(row.stiffness)) for row in weeks],
    }
    return charts.line_chart(
        series,
        references=[(float(alert_line), f"J3 alert line ({alert_line})")],  # staff page: the rule id is shown
        y_step=1.0,
        y_range=SCORE_RANGE,
        y_format="{:.0f}",
        **size,
    )


@register.simple_tag
def joint_pain_card(patient: Any) -> dict[str, Any]:
    history = check_ins_for_chart(patient)
    latest = history.latest
    return {
        "history": history,
        "latest_on": latest.answered_at.astimezone(clock.zone(patient.profile.timezone)).date()
        if latest is not None
        else None,
        "chart": _chart(history.weeks, history.alert_line),
        "phone_chart": _chart(history.weeks, history.alert_line, **PHONE_SIZE),
        "rows": list(reversed(history.weeks)),
        "chart_weeks": CHART_WEEKS,  # the table: newest first, like the page's other tables
    }
