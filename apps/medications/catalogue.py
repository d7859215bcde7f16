"""The medicine catalogue: DOMAIN's medicines table as data (loaded by migration 0002, kept in sync by it)."""

import uuid
from decimal import Decimal
from typing import Any

CATALOGUE_NAMESPACE = uuid.UUID("5b0e6c1e-6f2b-4b7a-9d4e-0b0e5ca7a10c")

_ORAL_BISPHOSPHONATE_30 = (
    "Take it on waking, on an empty stomach, with a full glass (180-240 mL) of plain water, at least 30 minutes "
    "before the first food, drink or other medicine, and stay upright (sitting or standing) for 30 minutes. "
    "Take calcium, antacids and other medicines at least 30 minutes later. Missed your day? Take one the next "
    "morning after you remember, never two on the same day, then go back to your usual day."
)

CATALOGUE: list[dict[str, Any]] = [
    {
        "code": "alendronate",
        "name": "Alendronate",
        "dose": "70 mg",
        "dose_mg": Decimal("70"),
        "route": "oral",
        "drug_class": "oral_bisphosphonate",
        "administered_by": "patient",
        "default_unit": "week",
        "default_interval": 1,
        "is_anti_resorptive": True,
        "injection_bands": "",
        "source": "M1",
        "instructions": _ORAL_BISPHOSPHONATE_30,
    },
    {
        "code": "risedronate",
        "name": "Risedronate (immediate release)",
        "dose": "35 mg",
        "dose_mg": Decimal("35"),
        "route": "oral",
        "drug_class": "oral_bisphosphonate",
        "administered_by": "patient",
        "default_unit": "week",
        "default_interval": 1,
        "is_anti_resorptive": True,
        "injection_bands": "",
        "source": "M2",
        "instructions": _ORAL_BISPHOSPHONATE_30,
    },
    {
        "code": "ibandronate",
        "name": "Ibandronate",
        "dose": "150 mg",
        "dose_mg": Decimal("150"),
        "route": "oral",
        "drug_class": "oral_bisphosphonate",
        "administered_by": "patient",
        "default_unit": "month",
        "default_interval": 1,
        "is_anti_resorptive": True,
        "injection_bands": "",
        "source": "M3",
        "instructions": (
            "Take it on waking, on an empty stomach, with a full glass (180-240 mL) of plain water, at least 60 "
            "minutes before the first food, drink or other medicine, and stay upright for 60 minutes. Take "
            "calcium, antacids and other medicines at least 60 minutes later. Missed it? Take it the next "
            "morning if your next dose is more than 7 days away; otherwise skip it."
        ),
    },
    {
        "code": "denosumab",
        "name": "Denosumab",
        "dose": "60 mg",
        "dose_mg": Decimal("60"),
        "route": "subcutaneous",
        "drug_class": "injectable_antiresorptive",
        "administered_by": "clinic",
        "default_unit": "month",
        "default_interval": 6,
        "is_anti_resorptive": True,
        "injection_bands": "denosumab",
        "source": "M4",
        "instructions": (
            "An injection under the skin every 6 months, counted from your last injection. Do not let it run "
            "late: more than a few weeks late, bone loss rebounds and spine fractures become more likely. "
            "Take calcium and vitamin D every day, and tell your clinic about dental work."
        ),
    },
    {
        "code": "zoledronic_acid",
        "name": "Zoledronic acid",
        "dose": "4 mg",
        "dose_mg": Decimal("4"),
        "route": "intravenous",
        "drug_class": "injectable_antiresorptive",
        "administered_by": "clinic",
        "default_unit": "month",
        "default_interval": 6,
        "is_anti_resorptive": True,
        "injection_bands": "zoledronic_acid",
        "source": "M5",
        "instructions": (
            "An infusion at the clinic every 6 months. Drink plenty of water before it; flu-like aches for a day "
            "or two afterwards are common. Your kidney function is checked before each dose."
        ),
    },
    {
        "code": "teriparatide",
        "name": "Teriparatide",
        "dose": "20 mcg",
        "dose_mg": Decimal("0.020"),
        "route": "subcutaneous",
        "drug_class": "anabolic",
        "administered_by": "patient",
        "default_unit": "day",
        "default_interval": 1,
        "is_anti_resorptive": False,
        "injection_bands": "",
        "source": "M6",
        "instructions": "An injection under the skin once a day, at about the same time.",
    },
    {
        "code": "anastrozole",
        "name": "Anastrozole",
        "dose": "1 mg",
        "dose_mg": Decimal("1"),
        "route": "oral",
        "drug_class": "aromatase_inhibitor",
        "administered_by": "patient",
        "default_unit": "day",
        "default_interval": 1,
        "is_anti_resorptive": False,
        "injection_bands": "",
        "source": "M7",
        "instructions": "One tablet a day, at about the same time, with or without food.",
    },
    {
        "code": "letrozole",
        "name": "Letrozole",
        "dose": "2.5 mg",
        "dose_mg": Decimal("2.5"),
        "route": "oral",
        "drug_class": "aromatase_inhibitor",
        "administered_by": "patient",
        "default_unit": "day",
        "default_interval": 1,
        "is_anti_resorptive": False,
        "injection_bands": "",
        "source": "M7",
        "instructions": "One tablet a day, at about the same time, with or without food.",
    },
    {
        "code": "exemestane",
        "name": "Exemestane",
        "dose": "25 mg",
        "dose_mg": Decimal("25"),
        "route": "oral",
        "drug_class": "aromatase_inhibitor",
        "administered_by": "patient",
        "default_unit": "day",
        "default_interval": 1,
        "is_anti_resorptive": False,
        "injection_bands": "",
        "source": "M7",
        "instructions": "One tablet a day after a meal, at about the same time.",
    },
]


def catalogue_id(code: str) -> uuid.UUID:
    """Stable ids, the same on every installation, so apps can cache the catalogue."""
    return uuid.uuid5(CATALOGUE_NAMESPACE, code)


def catalogue_sync(medication_model: Any) -> None:
    """Insert or update every catalogue row (used by the data migration; idempotent)."""
    for entry in CATALOGUE:
        medication_model.objects.update_or_create(id=catalogue_id(entry["code"]), defaults=entry)
