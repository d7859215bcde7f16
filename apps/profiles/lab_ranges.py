"""Accepted units and plausible ranges per lab kind: values outside are typos, not results, and are refused.

Ranges are wide on purpose (they reject impossible values, not abnormal ones). Data, not code paths.
"""

from decimal import Decimal
from typing import NamedTuple


class UnitRange(NamedTuple):
    low: Decimal
    high: Decimal


LAB_UNITS: dict[str, dict[str, UnitRange]] = {
    "egfr": {"mL/min/1.73m2": UnitRange(Decimal("1"), Decimal("200"))},
    "crcl": {"mL/min": UnitRange(Decimal("1"), Decimal("250"))},
    "serum_calcium": {
        "mg/dL": UnitRange(Decimal("3"), Decimal("20")),
        "mmol/L": UnitRange(Decimal("0.75"), Decimal("5")),
    },
    "vitamin_d_25oh": {
        "ng/mL": UnitRange(Decimal("1"), Decimal("250")),
        "nmol/L": UnitRange(Decimal("2.5"), Decimal("625")),
    },
}


def lab_value_errors(kind: str, unit: str, value: Decimal) -> dict[str, list[str]]:
    """Field errors for a lab value, empty when acceptable."""
    units = LAB_UNITS.get(kind)
    if units is None:
        return {"kind": [f"Unknown lab kind {kind!r}."]}
    if unit not in units:
        return {"unit": [f"Unit for {kind} must be one of: {', '.join(units)}."]}
    low, high = units[unit]
    if not low <= value <= high:
        return {"value": [f"{kind} in {unit} must be between {low} and {high}."]}
    return {}
