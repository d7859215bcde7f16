"""FHIR JSON as the server writes it (the read API's responses and the Bulk Data export's NDJSON lines alike)."""

import json
from decimal import Decimal
from typing import Any


def json_default(value: object) -> object:
    """Decimals (lab values, doses) as JSON numbers: FHIR decimals are JSON numbers."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def dumps(resource: dict[str, Any]) -> str:
    """One resource as compact JSON (no newline inside: an NDJSON line)."""
    return json.dumps(resource, default=json_default, ensure_ascii=False, separators=(",", ":"))
