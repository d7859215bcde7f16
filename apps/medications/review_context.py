"""What the pharmacist needs beside each schedule in her review queue (issue 14, point 9): the patient's latest labs
with their dates, her other active schedules and her active supplement plans, the schedule's previous decisions, and
the queue filtered by the severity of its findings. A fixed number of queries for a page, whatever its patients."""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from apps.medications.facts import supplement_plans
from apps.medications.models import ReviewDecision, Schedule, ScheduleStatus
from apps.medications.rules.checks import SupplementPlanFacts
from apps.medications.selectors import review_history
from apps.profiles.models import LabKind, LabResult
from backend import clock

# The labs the checks read (A4, D6: renal function; D6: serum calcium) and 25(OH)D (C3: vitamin D repletion).
QUEUE_LAB_KINDS = (LabKind.CRCL, LabKind.EGFR, LabKind.SERUM_CALCIUM, LabKind.VITAMIN_D_25OH)
# Where each is read (rulebook ids, for staff pages): renal function for A4 (oral bisphosphonates, zoledronic acid)
# and D6 (denosumab), serum calcium for D6, 25(OH)D for C3.
LAB_RULES = {LabKind.CRCL: "A4, D6", LabKind.EGFR: "A4, D6", LabKind.SERUM_CALCIUM: "D6", LabKind.VITAMIN_D_25OH: "C3"}
# A queue item's severity: that of its most severe finding, or "none" without findings.
SEVERITIES = ("high", "moderate", "low", "none")


@dataclass(frozen=True)
class LatestLab:
    kind: str
    label: str
    value: Decimal
    unit: str
    measured_on: date


@dataclass
class ReviewContext:
    labs: dict[str, LatestLab | None]
    other_schedules: list[Schedule] = field(default_factory=list)
    supplement_plans: list[SupplementPlanFacts] = field(default_factory=list)
    decisions: list[ReviewDecision] = field(default_factory=list)

    def lab_rows(self) -> list[dict[str, object]]:
        """For pages: each queue lab kind in order, with its latest result (or None) and the rules that read it."""
        return [
            {"kind": k.value, "label": str(k.label), "lab": self.labs.get(k.value), "rule": LAB_RULES[k]}
            for k in QUEUE_LAB_KINDS
        ]


def top_severity(findings: Sequence[dict[str, str]]) -> str:
    """The most severe of the findings (they come most severe first), or "none"."""
    return findings[0]["severity"] if findings else "none"


def latest_labs(patient_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, dict[str, LatestLab | None]]:
    """Each patient's latest result of each queue lab kind (None: none on record), one query."""
    labs: dict[uuid.UUID, dict[str, LatestLab | None]] = {
        pid: dict.fromkeys((k.value for k in QUEUE_LAB_KINDS), None) for pid in patient_ids
    }
    rows = (
        LabResult.objects.filter(patient_id__in=patient_ids, kind__in=QUEUE_LAB_KINDS)
        .order_by("patient_id", "kind", "-measured_on", "-created_at")
        .values_list("patient_id", "kind", "value", "unit", "measured_on")
    )
    for patient_id, kind, value, unit, measured_on in rows:
        if labs[patient_id][kind] is None:  # rows come newest first per kind
            labs[patient_id][kind] = LatestLab(kind, str(LabKind(kind).label), value, unit, measured_on)
    return labs


def _active_schedules(patient_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[Schedule]]:
    """Each patient's schedules that are active and not ended on her local today (planned ones included)."""
    found: dict[uuid.UUID, list[Schedule]] = {}
    rows = (
        Schedule.objects.filter(patient_id__in=patient_ids, status=ScheduleStatus.ACTIVE)
        .select_related("medication", "patient__profile")
        .order_by("patient_id", "starts_on", "created_at", "id")
    )
    for schedule in rows:
        today = clock.local_today(schedule.patient.profile.timezone)
        if schedule.ends_on is None or schedule.ends_on >= today:
            found.setdefault(schedule.patient_id, []).append(schedule)
    return found


def review_contexts(schedules: Sequence[Schedule]) -> dict[uuid.UUID, ReviewContext]:
    """{schedule id: what to show beside it}: four queries for any number of schedules."""
    patient_ids = {s.patient_id for s in schedules}
    labs = latest_labs(patient_ids)
    active = _active_schedules(patient_ids)
    plans = supplement_plans(patient_ids)
    decisions = review_history(schedule_ids=[s.pk for s in schedules])
    return {
        schedule.pk: ReviewContext(
            labs=labs[schedule.patient_id],
            other_schedules=[s for s in active.get(schedule.patient_id, []) if s.pk != schedule.pk],
            supplement_plans=plans.get(schedule.patient_id, []),
            decisions=decisions.get(schedule.pk, []),
        )
        for schedule in schedules
    }
