"""Reading a FHIR transaction Bundle of Observations (issue 16, the import): pure parsing and validation, no
database. apps.fhir.import_service resolves the patients and writes; apps.fhir.transaction_views answers HTTP.

What is read is the inverse of what apps.fhir.resources.observation emits, so an exported Observation imports as
the same result into another patient:

- `code`: a LOINC term of codes.DXA_LOINC (a DXA T-score) or codes.LAB_LOINC (a lab in the unit the term is for), or
  our lab-kind code (codes.LAB_SYSTEM) with the unit from the quantity. The tables are read at each call, so a code
  added to them is accepted with no change here. Codings we do not know are ignored when one we know is there;
  codings we know must agree.
- The femur term 38263-0 is the femoral neck only with a `bodySite` saying so (our dxa-site code `femoral_neck`, or
  the text "Femoral neck"), as we emit it; without one it is refused rather than guessed.
- `valueQuantity`: labs in a unit apps.profiles.lab_ranges accepts (the UCUM code of codes.UCUM_UNITS or the unit
  as we store it) and within its plausible range; T-scores in `{T-score}` or with no unit, within the model's range
  (-6.0 to 4.0, one decimal).
- `effectiveDateTime` (or `effectivePeriod.start`, `effectiveInstant`): a day (YYYY-MM-DD, her date as given) or a
  dateTime with its offset (the day it is in her time zone); a year or month alone is refused.
- `subject`: `{"reference": "Patient/<our id>"}` or `{"identifier": {"system", "value"}}` (her MRN in the
  organisation's MRN system, or our id as urn:uuid in urn:ietf:rfc:3986).
- `status`: final, amended or corrected.

Each bad entry is one Issue naming it (`Bundle.entry[3].resource.code`), its first problem only.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from apps.accounts.models import MRN_MAX_LENGTH, MRN_VALIDATOR, URI_VALIDATOR
from apps.fhir.codes import DXA_LOINC, DXA_SITE_SYSTEM, LAB_LOINC, LAB_SYSTEM, LOINC, T_SCORE_UNIT, UCUM, UCUM_UNITS
from apps.fhir.identifiers import UUID_PREFIX
from apps.fhir.registry import as_uuid
from apps.profiles.lab_ranges import LAB_UNITS, lab_value_errors
from apps.profiles.models import BoneDensityResult, DxaSite, LabKind, LabResult

MAX_ENTRIES = 1000
STATUSES = ("final", "amended", "corrected")
# The DXA sites we emit with a bodySite (resources/observation.py): their LOINC term alone does not name them.
BODY_SITE_REQUIRED = frozenset({DxaSite.FEMORAL_NECK.value})
URI_SYSTEM = "urn:ietf:rfc:3986"
FHIR_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FHIR_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})")
PATIENT_REFERENCE = re.compile(r"Patient/([A-Za-z0-9\-.]{1,64})")

Kind = Literal["dxa", "lab"]


@dataclass(frozen=True)
class Issue:
    """One problem, as an OperationOutcome issue: FHIR issue type `code`, where (`expression`), what."""

    code: str
    expression: str
    diagnostics: str


class BundleRefusedError(Exception):
    """The request as a whole is refused (not a transaction Bundle, too many entries): `status` and one Issue."""

    def __init__(self, status: int, issue: Issue) -> None:
        super().__init__(issue.diagnostics)
        self.status = status
        self.issue = issue


class _EntryError(Exception):
    def __init__(self, code: str, where: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Subject:
    """Whom an entry is about: our patient id, or an identifier (system, value) to look up."""

    patient_id: UUID | None = None
    system: str = ""
    value: str = ""


@dataclass(frozen=True)
class ParsedObservation:
    index: int
    subject: Subject
    kind: Kind
    name: str  # the DXA site or the lab kind
    unit: str  # a lab's unit as stored; "" for a T-score
    value: Decimal
    day: date | None  # the day as given (YYYY-MM-DD)...
    instant: datetime | None  # ...or an instant, whose day is the one in her time zone

    def path(self, where: str) -> str:
        return entry_path(self.index, where)


def entry_path(index: int, where: str) -> str:
    return f"Bundle.entry[{index}]{'.' + where if where else ''}"


def parse_bundle(data: Any) -> tuple[list[ParsedObservation], list[Issue]]:
    """The Bundle's entries, each parsed or an Issue; BundleRefusedError when it is no transaction Bundle at all."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise BundleRefusedError(
            400, Issue("structure", "Bundle", "The body must be a FHIR Bundle (resourceType Bundle).")
        )
    if data.get("type") != "transaction":
        kind = str(data.get("type"))[:40]
        raise BundleRefusedError(
            400, Issue("not-supported", "Bundle.type", f"Only a transaction Bundle is accepted, not {kind!r}.")
        )
    entries = data.get("entry")
    if not isinstance(entries, list) or not entries:
        raise BundleRefusedError(400, Issue("required", "Bundle.entry", "The Bundle has no entries."))
    if len(entries) > MAX_ENTRIES:
        raise BundleRefusedError(
            413,
            Issue("too-costly", "Bundle.entry", f"At most {MAX_ENTRIES} entries per Bundle, not {len(entries)}."),
        )
    parsed: list[ParsedObservation] = []
    issues: list[Issue] = []
    for index, entry in enumerate(entries):
        try:
            parsed.append(_parse_entry(index, entry))
        except _EntryError as problem:
            issues.append(Issue(problem.code, entry_path(index, problem.where), problem.message))
    return parsed, issues


def _object(value: Any, where: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _EntryError("required" if value is None else "structure", where, f"{what} is missing or not an object.")
    return value


def _parse_entry(index: int, entry: Any) -> ParsedObservation:
    entry = _object(entry, "", "The entry")
    request = _object(entry.get("request"), "request", "request")
    if request.get("method") != "POST":
        method = str(request.get("method"))[:10]
        raise _EntryError("not-supported", "request.method", f"Only POST (create) is accepted, not {method!r}.")
    if request.get("url") != "Observation":
        raise _EntryError("not-supported", "request.url", 'Only "Observation" is accepted as request.url.')
    resource = _object(entry.get("resource"), "resource", "resource")
    if resource.get("resourceType") != "Observation":
        raise _EntryError("not-supported", "resource.resourceType", "Only Observation resources are accepted.")
    status = resource.get("status")
    if status not in STATUSES:
        raise _EntryError("value", "resource.status", f"status must be one of {', '.join(STATUSES)}.")
    kind, name, loinc_unit = _code(resource)
    subject = _subject(resource.get("subject"))
    day, instant = _effective(resource)
    value, unit = _quantity(resource, kind, name, loinc_unit)
    return ParsedObservation(index, subject, kind, name, unit, value, day, instant)


# --- code ---------------------------------------------------------------------------------------------------------
Target = tuple[Kind, str, str]  # (dxa|lab, site|kind, unit: a LOINC lab term's, "" when the quantity says)


def code_table() -> dict[tuple[str, str], set[Target]]:
    """(system, code) -> what it may be, from codes.py's tables (read now: codes added there are accepted)."""
    table: dict[tuple[str, str], set[Target]] = {}
    for site, (code, _) in DXA_LOINC.items():
        table.setdefault((LOINC, code), set()).add(("dxa", site, ""))
    for (kind, unit), (code, _) in LAB_LOINC.items():
        table.setdefault((LOINC, code), set()).add(("lab", kind, unit))
    for kind in LabKind.values:
        table.setdefault((LAB_SYSTEM, kind), set()).add(("lab", kind, ""))
    return table


def _code(resource: dict[str, Any]) -> Target:
    code = _object(resource.get("code"), "resource.code", "code")
    codings = code.get("coding")
    if not isinstance(codings, list):
        raise _EntryError("required", "resource.code", "code.coding is missing.")
    table = code_table()
    pairs = [(str(c.get("system")), str(c.get("code"))) for c in codings if isinstance(c, dict)]
    known = [table[pair] for pair in pairs if pair in table]
    if not known:
        raise _EntryError(
            "code-invalid",
            "resource.code",
            "No known code: a LOINC DXA T-score (38267-1, 38264-8, 38263-0), a LOINC lab term we map, or "
            f"{LAB_SYSTEM}|<kind>.",
        )
    # Every known coding must name the same thing (a LOINC lab term also fixes the unit).
    names = {(kind, name) for kind, name, _ in known[0]}
    for targets in known[1:]:
        names &= {(kind, name) for kind, name, _ in targets}
    if not names:
        raise _EntryError("code-invalid", "resource.code", "The codes given name different observations.")
    units = {unit for targets in known for kind, name, unit in targets if (kind, name) in names and unit}
    dxa_sites = {name for kind, name in names if kind == "dxa"}
    if dxa_sites:
        return "dxa", _dxa_site(resource, dxa_sites), ""
    if len(names) > 1 or len(units) > 1:
        raise _EntryError("code-invalid", "resource.code", "The code is ambiguous; add our lab-kind code.")
    ((_, kind),) = names
    return "lab", kind, next(iter(units), "")


def _dxa_site(resource: dict[str, Any], sites: set[str]) -> str:
    body = resource.get("bodySite")
    named: str | None = None
    if isinstance(body, dict):
        labels = {DxaSite(site).label.lower(): site for site in DxaSite.values}
        codings = body.get("coding") or []
        if not isinstance(codings, list):
            raise _EntryError("structure", "resource.bodySite.coding", "bodySite.coding must be a list.")
        for c in codings:
            if isinstance(c, dict) and c.get("system") == DXA_SITE_SYSTEM and c.get("code") in DxaSite.values:
                named = str(c["code"])
        text = body.get("text")
        if named is None and isinstance(text, str):
            named = labels.get(text.strip().lower())
        if named is None:
            raise _EntryError("code-invalid", "resource.bodySite", "bodySite names no DXA site we record.")
        if named not in sites:
            raise _EntryError("code-invalid", "resource.bodySite", "bodySite does not match the code's site.")
        return named
    if len(sites) == 1 and not sites & BODY_SITE_REQUIRED:
        return next(iter(sites))
    label = " or ".join(sorted(DxaSite(site).label for site in sites))
    raise _EntryError("required", "resource.bodySite", f"This code needs a bodySite naming the site ({label}).")


# --- subject ------------------------------------------------------------------------------------------------------
def _subject(raw: Any) -> Subject:
    subject = _object(raw, "resource.subject", "subject")
    reference = subject.get("reference")
    if reference is not None:
        match = PATIENT_REFERENCE.fullmatch(reference) if isinstance(reference, str) else None
        patient_id = as_uuid(match[1]) if match else None
        if patient_id is None:
            raise _EntryError("not-found", "resource.subject", "Patient not found (subject.reference is Patient/<id>).")
        return Subject(patient_id=patient_id)
    identifier = _object(subject.get("identifier"), "resource.subject", "subject.reference or subject.identifier")
    system, value = identifier.get("system"), identifier.get("value")
    if not isinstance(system, str) or not system or not isinstance(value, str) or not value.strip():
        raise _EntryError("required", "resource.subject.identifier", "The identifier needs a system and a value.")
    if system == URI_SYSTEM:
        patient_id = as_uuid(value.removeprefix(UUID_PREFIX)) if value.startswith(UUID_PREFIX) else None
        if patient_id is None:
            raise _EntryError("not-found", "resource.subject", "Patient not found.")
        return Subject(patient_id=patient_id)
    mrn = value.strip()
    # Neither an MRN nor an identifier system of anyone's (a NUL, a lone surrogate...): nobody, before any query.
    if len(mrn) > MRN_MAX_LENGTH or not _matches(MRN_VALIDATOR, mrn):
        raise _EntryError("not-found", "resource.subject", "Patient not found.")
    if not system.isprintable() or not _matches(URI_VALIDATOR, system):
        raise _EntryError("not-found", "resource.subject", "Patient not found.")
    return Subject(system=system[:255], value=mrn)


def _matches(validator: RegexValidator, value: str) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True


# --- effective ----------------------------------------------------------------------------------------------------
def _effective(resource: dict[str, Any]) -> tuple[date | None, datetime | None]:
    where, raw = "resource.effectiveDateTime", resource.get("effectiveDateTime")
    if raw is None and "effectiveInstant" in resource:
        where, raw = "resource.effectiveInstant", resource.get("effectiveInstant")
    if raw is None and isinstance(resource.get("effectivePeriod"), dict):
        where, raw = "resource.effectivePeriod.start", resource["effectivePeriod"].get("start")
    if raw is None:
        raise _EntryError(
            "required", "resource.effectiveDateTime", "When it was measured is missing (effectiveDateTime)."
        )
    if not isinstance(raw, str):
        raise _EntryError("value", where, "Not a FHIR dateTime.")
    try:
        if FHIR_DATE.fullmatch(raw):
            return date.fromisoformat(raw), None
        if FHIR_DATETIME.fullmatch(raw):
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            moment.astimezone(UTC)  # year 1 at +14:00 or 9999 at -14:00 is outside what an instant can be
            return None, moment
    except (ValueError, OverflowError) as exc:
        raise _EntryError("value", where, f"{raw[:40]!r} is not a valid date.") from exc
    raise _EntryError("value", where, f"{raw[:40]!r}: give the day (YYYY-MM-DD) or a dateTime with its offset.")


# --- value --------------------------------------------------------------------------------------------------------
def _quantity(resource: dict[str, Any], kind: Kind, name: str, loinc_unit: str) -> tuple[Decimal, str]:
    quantity = resource.get("valueQuantity")
    if not isinstance(quantity, dict):
        raise _EntryError("required", "resource.valueQuantity", "The value is missing (valueQuantity).")
    raw = quantity.get("value")
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | float):
        raise _EntryError("required", "resource.valueQuantity.value", "The value is missing or not a number.")
    value = Decimal(str(raw))
    # 7e999999999999 is finite but overflows any arithmetic: no result of ours is beyond +-1e12 nor below 1e-12.
    if not value.is_finite() or (value and not -12 <= value.adjusted() <= 12):
        raise _EntryError("value", "resource.valueQuantity.value", "The value is not a finite number in range.")
    value = _without_trailing_zeros(value)
    system, code, unit = quantity.get("system"), quantity.get("code"), quantity.get("unit")
    if kind == "dxa":
        if system not in (None, UCUM) or code not in (None, T_SCORE_UNIT) or unit not in (None, T_SCORE_UNIT):
            raise _EntryError("value", "resource.valueQuantity", f"A T-score has the unit {T_SCORE_UNIT} or none.")
        _field_check(BoneDensityResult, "t_score", value)
        return value, ""
    stored = _stored_unit(name, system, code, unit)
    if loinc_unit and stored != loinc_unit:
        raise _EntryError("value", "resource.valueQuantity", f"This LOINC term is in {loinc_unit}, not {stored}.")
    errors = lab_value_errors(name, stored, value)
    if errors:
        field, messages = next(iter(errors.items()))
        where = "resource.valueQuantity" + (".value" if field == "value" else "")
        raise _EntryError("value", where, messages[0])
    _field_check(LabResult, "value", value)
    return value, stored


def _without_trailing_zeros(value: Decimal) -> Decimal:
    """-2.60 is -2.6 (an EHR's fixed-point rendering), so the model's decimal places count significant digits."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1)) if abs(value) < Decimal("1e12") else value
    return value.normalize()


def _stored_unit(kind: str, system: Any, code: Any, unit: Any) -> str:
    """The unit as we store it: from the UCUM code (codes.UCUM_UNITS, reversed) or the unit text."""
    accepted = LAB_UNITS.get(kind, {})
    if system == UCUM and isinstance(code, str):
        for stored, ucum in UCUM_UNITS.items():
            if ucum == code and stored in accepted:
                return stored
    if isinstance(unit, str) and unit in accepted:
        return unit
    if isinstance(code, str) and code in accepted:
        return code
    raise _EntryError("value", "resource.valueQuantity", f"The unit for {kind} must be one of: {', '.join(accepted)}.")


def _field_check(model: Any, field: str, value: Decimal) -> None:
    """The model field's own checks (range, digits), so what the services would refuse is refused here first."""
    try:
        model._meta.get_field(field).clean(value, None)
    except ValidationError as exc:
        raise _EntryError("value", "resource.valueQuantity.value", " ".join(exc.messages)) from exc
