"""Gather what the pure pharmacist checks need from the database, for many schedules at once (no N+1)."""

from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from uuid import UUID

from apps.medications.models import Schedule
from apps.medications.rules.checks import (
    Finding,
    LabFacts,
    PatientFacts,
    ScheduleFacts,
    SupplementPlanFacts,
    dose_in_mg,
    schedule_findings,
)
from apps.profiles.models import LabResult
from backend import clock

MMOL_TO_MG_DL_CALCIUM = Decimal("4.008")  # serum calcium: 1 mmol/L = 4.008 mg/dL (molar mass 40.08 g/mol)

# (patient ids) -> {patient id: her active supplement plans (what they are, and at what local times)}
SupplementPlanProvider = Callable[[set[UUID]], dict[UUID, list[SupplementPlanFacts]]]
_supplement_plan_provider: SupplementPlanProvider | None = None


def register_supplement_plan_provider(provider: SupplementPlanProvider) -> None:
    """The supplements app answers which supplement plans each patient has and at what times (DOMAIN D6: calcium
    and vitamin D with denosumab; A2: nothing oral too soon after an oral bisphosphonate). A lookup, not an event:
    supplements imports medications, so medications asks through this, registered at start-up."""
    global _supplement_plan_provider
    _supplement_plan_provider = provider


def supplement_plans(patient_ids: set[UUID]) -> dict[UUID, list[SupplementPlanFacts]]:
    if _supplement_plan_provider is None:
        raise LookupError("No supplement plan provider registered: the checks would miss every plan.")  # DOMAIN A2, D6
    return _supplement_plan_provider(patient_ids)


def schedule_facts(schedule: Schedule) -> ScheduleFacts:
    return ScheduleFacts(
        id=str(schedule.id),
        drug=schedule.medication.code,
        route=schedule.medication.route,
        unit=schedule.unit,
        interval=schedule.interval,
        weekday=schedule.weekday,
        month_day=schedule.month_day,
        local_time=schedule.local_time,
        status=schedule.status,
        dose_mg=dose_in_mg(schedule.dose),  # the prescribed dose, not the catalogue's (DOMAIN A4)
        dose=schedule.dose,
        starts_on=schedule.starts_on,
        ends_on=schedule.ends_on,
        next_due_on=schedule.next_due_on,
    )


def _latest_labs(patient_ids: set[UUID]) -> dict[UUID, LabFacts]:
    latest: dict[UUID, dict[str, Decimal]] = defaultdict(dict)
    rows = (
        LabResult.objects.filter(patient_id__in=patient_ids)
        .order_by("patient_id", "kind", "-measured_on", "-created_at")
        .values_list("patient_id", "kind", "value", "unit")
    )
    for patient_id, kind, value, unit in rows:
        if kind in latest[patient_id]:
            continue  # rows come newest first per kind
        latest[patient_id][kind] = value * MMOL_TO_MG_DL_CALCIUM if unit == "mmol/L" else value
    return {
        pid: LabFacts(egfr=labs.get("egfr"), crcl=labs.get("crcl"), serum_calcium_mg_dl=labs.get("serum_calcium"))
        for pid, labs in latest.items()
    }


def findings_for(schedules: Sequence[Schedule]) -> dict[UUID, list[Finding]]:
    """Automated findings for each schedule, in the context of its patient's other schedules, labs and supplement
    plans. A fixed number of queries whatever the number of schedules."""
    patient_ids = {s.patient_id for s in schedules}
    siblings: dict[UUID, list[ScheduleFacts]] = defaultdict(list)
    for other in Schedule.objects.filter(patient_id__in=patient_ids).select_related("medication"):
        siblings[other.patient_id].append(schedule_facts(other))
    labs = _latest_labs(patient_ids)
    plans = supplement_plans(patient_ids)
    result = {}
    for schedule in schedules:
        profile = schedule.patient.profile
        her_plans: list[SupplementPlanFacts] = plans.get(schedule.patient_id, [])
        facts = PatientFacts(
            schedules=siblings[schedule.patient_id],
            labs=labs.get(schedule.patient_id, LabFacts(egfr=None, crcl=None, serum_calcium_mg_dl=None)),
            has_calcium_plan=any(p.nutrient == "calcium" for p in her_plans),
            has_vitamin_d_plan=any(p.nutrient == "vitamin_d" for p in her_plans),
            supplement_plans=her_plans,
            prior_skeletal_radiation=profile.prior_skeletal_radiation,
            bone_metastases=profile.bone_metastases,
            cannot_stay_upright=profile.cannot_stay_upright,
            esophageal_disorder=profile.esophageal_disorder,
            today=clock.local_today(profile.timezone),
        )
        result[schedule.pk] = schedule_findings(schedule_facts(schedule), facts)
    return result
