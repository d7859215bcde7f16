"""The patient page's denosumab off-ramp (DOMAIN D7; issue 15 part 4), read once per page and shared by its two
includes (the line on the injection timeline and the "Denosumab off-ramp" card): a fixed number of queries."""

from typing import Any
from uuid import UUID

from django import template

from apps.medications.rules.off_ramp import OffRampStatus
from apps.medications.selectors import ScheduleOffRamp, off_ramps_of
from backend import clock

register = template.Library()

_LABELS = {
    OffRampStatus.PLANNED: "planned",
    OffRampStatus.NEEDS_FOLLOW_ON: "needs a follow-on",
    OffRampStatus.COVERED: "covered",
    OffRampStatus.LAPSED: "protection lapsed",
}


@register.simple_tag(takes_context=True)
def patient_off_ramps(context: template.Context, patient: Any) -> dict[str, Any]:
    """Her denosumab off-ramps on her local today: ``items`` in schedule order and ``by_schedule``."""
    cached = context.get("_off_ramps")
    if cached is not None and cached["patient"].pk == patient.pk:
        return dict(cached)
    today = clock.local_today(patient.profile.timezone, clock.now())
    items = off_ramps_of(patient, today=today)
    found = {"patient": patient, "items": items, "by_schedule": {row.schedule.pk: row for row in items}}
    context.dicts[0]["_off_ramps"] = found
    return found


@register.filter
def off_ramp_for(off_ramps: dict[str, Any], schedule_id: UUID) -> ScheduleOffRamp | None:
    found: ScheduleOffRamp | None = off_ramps["by_schedule"].get(schedule_id)
    return found


@register.filter
def off_ramp_label(status: str) -> str:
    return _LABELS.get(OffRampStatus(status), status) if status in set(OffRampStatus) else status
