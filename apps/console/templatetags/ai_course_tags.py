"""The patient page's aromatase-inhibitor lines (issue 15, DOMAIN T1, P1): her planned course in years, a recorded
stop, and the AI's own 90-day adherence, apart from the bone medicines'. From what the page has already read (the
profile and the overview's adherence rows): no query."""

from dataclasses import dataclass
from typing import Any

from django import template

from apps.console.selectors import PatientOverview
from apps.medications.adherence import LIST_WINDOW_DAYS
from apps.medications.models import DrugClass
from apps.medications.rules.adherence import ADHERENT_PDC
from apps.profiles.models import AiStopReason, PatientProfile
from apps.profiles.selectors import ai_course_of

register = template.Library()


@dataclass(frozen=True)
class AiAdherence:
    name: str
    status: str
    pdc: Any  # Decimal | None: not measured yet (fewer than 14 tracked days)
    days: int

    @property
    def low(self) -> bool:
        return self.pdc is not None and self.pdc < ADHERENT_PDC  # DOMAIN P1


@register.simple_tag
def ai_course(overview: PatientOverview, profile: PatientProfile) -> dict[str, Any]:
    course = ai_course_of(profile, today=overview.today)
    adherence = []
    for row in overview.adherence:
        if row.schedule.medication.drug_class != DrugClass.AROMATASE_INHIBITOR:
            continue
        cell = next((c for c in row.cells if c.window == LIST_WINDOW_DAYS and c.active), None)
        if cell is not None:
            adherence.append(AiAdherence(row.schedule.medication.name, row.schedule.status, cell.pdc, cell.days))
    reason = course["stop_reason"]
    return {
        **course,
        "stop_reason_label": str(AiStopReason(reason).label).lower() if reason in AiStopReason.values else "",
        "adherence": adherence,
        "window": LIST_WINDOW_DAYS,
        "adherent_pdc": ADHERENT_PDC,
    }
