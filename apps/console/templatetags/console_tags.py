"""Small display filters for the console templates."""

from decimal import ROUND_DOWN, Decimal
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from apps.alerts.models import SEVERITY_RANK
from apps.console import rulebook
from apps.medications.models import InjectionStateField
from apps.medications.rules.adherence import pdc_percent

register = template.Library()

_SEVERITY_BY_RANK = {rank: str(severity) for severity, rank in SEVERITY_RANK.items()}
_INJECTION_LABELS = dict(InjectionStateField.choices)


@register.filter
def severity_name(rank: int | None) -> str:
    return _SEVERITY_BY_RANK.get(rank or 0, "")


@register.filter
def injection_label(state: str | None) -> str:
    return _INJECTION_LABELS.get(state or "", state or "")


@register.filter
def percent(value: Decimal | float | None) -> str:
    """A PDC as "79.9%": one decimal, truncated, never rounded up onto a threshold (0.7996 is not "80.0%")."""
    return "—" if value is None else pdc_percent(Decimal(str(value)))


@register.filter
def amount(value: Decimal | float | None) -> str:
    """A logged amount (mg, IU): 1,200 as is; 1,199.95 as "1,199.9", truncated, so it never reads as on a target."""
    if value is None:
        return "—"
    exact = Decimal(str(value))
    if exact == exact.to_integral_value():
        return f"{exact:,.0f}"
    return f"{exact.quantize(Decimal('0.1'), rounding=ROUND_DOWN):,.1f}"


@register.filter
def every(schedule: Any) -> str:
    """ "every week", "every 6 months": a schedule's recurrence in words."""
    unit = str(schedule.get_unit_display()).lower()
    return f"every {unit}" if schedule.interval == 1 else f"every {schedule.interval} {unit}s"


@register.filter
def rule_links(rule: str | None) -> SafeString:
    """A rule id ("D5", "M1-M5") with each id linked to its entry in the rulebook page (/console/rules/#rule-D5)."""
    try:
        known = rulebook.load().rule_ids
    except OSError:  # no rulebook on this installation: the ids stay readable, unlinked
        known = frozenset()
    return mark_safe(rulebook.link_rule_ids(rule or "", known))  # noqa: S308  # link_rule_ids escapes the text
