"""Reads for patient profiles and the bone-health assessment."""

from datetime import date
from typing import Any

from django.db.models import QuerySet

from apps.accounts.models import Patient
from apps.profiles.models import BoneDensityResult, LabResult, PatientProfile
from apps.profiles.rules import BoneHealthAssessment, BoneHealthInput, DxaReading, ai_course, assess_bone_health
from apps.profiles.therapy import current_therapy
from backend import clock


def bone_density_list(*, patient: Patient) -> QuerySet[BoneDensityResult]:
    return BoneDensityResult.objects.filter(patient=patient).order_by("-measured_on", "site", "id")


def lab_list(*, patient: Patient, kind: str | None = None) -> QuerySet[LabResult]:
    rows = LabResult.objects.filter(patient=patient)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-measured_on", "kind", "id")


def bone_health_assessment(*, patient: Patient, today: date | None = None) -> BoneHealthAssessment:
    """DOMAIN H1-H4 for this patient, on her local date, knowing the bone-directed therapy she is on that day."""
    profile = patient.profile
    readings = [
        DxaReading(site=site, t_score=t_score, measured_on=measured_on)
        for site, t_score, measured_on in BoneDensityResult.objects.filter(patient=patient).values_list(
            "site", "t_score", "measured_on"
        )
    ]
    today = today or clock.local_today(profile.timezone)
    return assess_bone_health(
        BoneHealthInput(
            today=today,
            # A birth date "after today" can only come from a zone change across midnight: treat age as unknown.
            birth_date=profile.birth_date if profile.birth_date <= today else None,
            height_cm=profile.height_cm,
            weight_kg=profile.weight_kg,
            smoker=profile.smoker,
            family_hip_fracture=profile.family_hip_fracture,
            prior_fragility_fracture=profile.prior_fragility_fracture,
            oral_corticosteroids_months=profile.oral_corticosteroids_months,
            dxa=readings,
            current_therapy=current_therapy(patient.pk, today),
        )
    )


def ai_course_of(profile: PatientProfile, *, today: date | None = None) -> dict[str, Any]:
    """Her aromatase-inhibitor course on her local today (DOMAIN T1): the figures of rules.ai_course, with the drug
    and why she stopped. No query: the profile holds it all."""
    course = ai_course(
        today=today or clock.local_today(profile.timezone),
        started_on=profile.ai_started_on,
        planned_years=profile.ai_planned_years,
        planned_end_on=profile.ai_planned_end_on,
        stopped_on=profile.ai_stopped_on,
    )
    return {
        **vars(course),
        "aromatase_inhibitor": profile.aromatase_inhibitor,
        "planned_years": profile.ai_planned_years,
        "given_end_on": profile.ai_planned_end_on,
        "stop_reason": profile.ai_stop_reason,
    }
