"""The patient page's appointments (apps/console/booking_views.py), read once per page and shared by its two
includes (the injection timeline and the appointments card)."""

from typing import Any
from uuid import UUID

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def patient_appointments(context: template.Context, patient: Any) -> dict[str, Any]:
    cached = context.get("_appointments")
    if cached is not None and cached["patient"].pk == patient.pk:
        return dict(cached)
    from apps.console.booking_views import patient_appointments as read

    found = read(patient, context["request"].user)
    context.dicts[0]["_appointments"] = found
    return found


@register.filter
def booked_for(appointments: dict[str, Any], schedule_id: UUID) -> list[dict[str, Any]]:
    return list(appointments["by_schedule"].get(schedule_id, []))
