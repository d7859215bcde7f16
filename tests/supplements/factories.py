"""Supplement objects made through the real services (validation, local dates), for these tests and the access
matrix."""

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.accounts.models import Patient, User
from apps.supplements.models import DietaryCalciumEntry, SupplementIntake, SupplementPlan
from apps.supplements.services import dietary_calcium_record, supplement_intake_record, supplement_plan_create


def make_plan(patient: Patient, actor: User | None = None, **changes: Any) -> SupplementPlan:
    """A plan through the real service; by default the patient's own calcium citrate, 500 mg at 08:00 and 20:00."""
    values: dict[str, Any] = {
        "supplement": "calcium_citrate",
        "amount": Decimal("500"),
        "unit": "mg",
        "times_of_day": [time(8, 0), time(20, 0)],
        "starts_on": date(2026, 1, 5),
        **changes,
    }
    return supplement_plan_create(actor=actor or patient.user, patient=patient, **values)


def make_intake(patient: Patient, taken_at: datetime | None = None, **changes: Any) -> SupplementIntake:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "supplement": "calcium_citrate",
        "amount": Decimal("500"),
        "unit": "mg",
        "taken_at": taken_at or timezone.now() - timedelta(hours=1),
        **changes,
    }
    return supplement_intake_record(actor=patient.user, patient=patient, **values).intake


def make_diet(patient: Patient, on: date, mg: Decimal | int | None = 300, **changes: Any) -> DietaryCalciumEntry:
    values: dict[str, Any] = {"id": uuid.uuid4(), "date": on, "mg": None if mg is None else Decimal(mg), **changes}
    return dietary_calcium_record(actor=patient.user, patient=patient, **values).entry


def in_zone(patient: Patient, name: str) -> Patient:
    patient.profile.timezone = name
    patient.profile.save()
    return patient
