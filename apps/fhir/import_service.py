"""Writing an imported transaction Bundle of Observations (issue 16): find each entry's patient in the caller's
scope, date it in her zone, drop duplicates, then record everything through the profiles services (their events
fire and the bone-health assessment reads the result as one typed in), all in one transaction or nothing.

Duplicates: an entry for the same patient, the same DXA site (or lab kind), the same day and the same value (and
unit) as a result on record, or as an earlier entry of the Bundle, is not recorded again: its response is `200 OK`
with that result's location. The same patient, site or kind and day with a *different* value is a conflict (the
entry is refused and nothing is written): a result corrected in the EHR is reviewed in BoneSync, never doubled
silently (two T-scores of one day would leave the wrong one counting in H2's lowest T-score).

A patient outside the caller's scope (another organisation's, or no such patient) is "Patient not found" for that
entry, exactly as an unknown one (nothing said about other organisations); an id that exists elsewhere is logged
as a refused lookup (`denied`) like the read API's.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest

from apps.accounts.models import Patient, User
from apps.fhir.identifiers import mrn_system
from apps.fhir.importing import Issue, ParsedObservation
from apps.profiles.models import BoneDensityResult, LabResult
from apps.profiles.services import bone_density_record, lab_record
from backend import clock
from backend.access import ScopedUser, patient_scope
from backend.audit import audit_denied, audit_record

AUDIT_RESOURCE = "fhir_observation"
NOT_FOUND = "Patient not found."


class ImportRefusedError(Exception):
    """Entries that cannot be recorded; nothing was written."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} entries refused")
        self.issues = issues

    @property
    def status(self) -> int:
        return 409 if all(issue.code == "conflict" for issue in self.issues) else 400


@dataclass(frozen=True)
class EntryResult:
    created: bool
    location: str  # Observation/<id>, the id the read API serves

    @property
    def status(self) -> str:
        return "201 Created" if self.created else "200 OK"


Key = tuple[UUID, str, str, date]  # (patient, dxa|lab, site|kind, day): one result per key and value


def observations_import(
    *,
    actor: ScopedUser,
    entries: list[ParsedObservation],
    refused: list[Issue] | None = None,
    request: HttpRequest | None = None,
) -> list[EntryResult]:
    """Record the entries for `actor` (a staff user, or a system client: recorded_by is then empty); one result per
    entry, in order. ImportRefusedError (nothing written) naming each entry that cannot be recorded, together with the
    entries the parser `refused` already (so one answer names every bad entry)."""
    denied: list[UUID] = []
    try:
        return _import(actor, entries, list(refused or []), denied, request)
    finally:  # refused lookups stay logged when the import is rolled back
        for pk in denied:
            audit_denied(actor=actor, resource="fhir_patient", requested_id=str(pk), request=request)


def _import(
    actor: ScopedUser,
    entries: list[ParsedObservation],
    issues: list[Issue],
    denied: list[UUID],
    request: HttpRequest | None,
) -> list[EntryResult]:
    with transaction.atomic():
        patients = _patients(actor, entries, denied)
        planned: list[tuple[ParsedObservation, Patient, date]] = []
        for entry in entries:
            patient = patients.get(entry.index)
            if patient is None:
                issues.append(Issue("not-found", entry.path("resource.subject"), NOT_FOUND))
                continue
            day = _day(entry, patient, issues)
            if day is not None:
                planned.append((entry, patient, day))
        results = _plan(planned, issues)
        if issues:
            raise ImportRefusedError(sorted(issues, key=lambda issue: _entry_order(issue.expression)))
        recorder = actor if isinstance(actor, User) else None
        done: dict[int, EntryResult] = {}
        for entry, patient, day in planned:
            outcome = results[entry.index]
            if isinstance(outcome, int):  # an earlier entry of this Bundle: its result
                done[entry.index] = EntryResult(False, done[outcome].location)
                continue
            if outcome is not None:  # on record already
                done[entry.index] = outcome
                continue
            try:
                row = _record(recorder, entry, patient, day)
            except ValidationError as exc:  # pre-checked; a race (her zone or birth date changed) stays a 400
                raise ImportRefusedError([Issue("invalid", entry.path("resource"), " ".join(exc.messages))]) from exc
            done[entry.index] = EntryResult(True, f"Observation/{row.pk}")
        audit_record(
            actor=actor,
            action="create",
            resource=AUDIT_RESOURCE,
            patient_ids=[patient.pk for _, patient, _ in planned],
            request=request,
        )
    return [done[entry.index] for entry in entries]


def _entry_order(expression: str) -> int:
    return int(expression.split("[", 1)[1].split("]", 1)[0])


def _patients(actor: ScopedUser, entries: list[ParsedObservation], denied: list[UUID]) -> dict[int, Patient]:
    """Each entry's patient in the actor's scope, in one query (locked, so that two imports of the same results do
    not both create them); the ids that name a patient outside it are added to `denied`."""
    ids = {e.subject.patient_id for e in entries if e.subject.patient_id is not None}
    mrns = {e.subject.value for e in entries if e.subject.patient_id is None}
    rows = list(
        Patient.objects.filter(patient_scope(actor, via=""))
        .filter(Q(pk__in=ids) | Q(mrn__in=mrns))
        .select_related("organisation", "profile")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    by_id = {p.pk: p for p in rows}
    by_mrn: dict[tuple[str, str], list[Patient]] = {}
    for p in rows:
        if p.mrn:
            by_mrn.setdefault((mrn_system(p.organisation), p.mrn), []).append(p)
    found: dict[int, Patient] = {}
    for entry in entries:
        subject = entry.subject
        if subject.patient_id is not None:
            patient = by_id.get(subject.patient_id)
        else:
            matches = by_mrn.get((subject.system, subject.value), [])
            patient = matches[0] if len(matches) == 1 else None  # two organisations sharing a system: ambiguous
        if patient is not None:
            found[entry.index] = patient
    missing = ids - by_id.keys()
    if missing:  # ids of patients outside the scope are refused lookups, logged like the read API's
        denied.extend(Patient.objects.filter(pk__in=missing).values_list("pk", flat=True))
    return found


def _day(entry: ParsedObservation, patient: Patient, issues: list[Issue]) -> date | None:
    """The day measured, in her time zone; an Issue for a future day or one before her birth (as the services)."""
    try:
        profile = patient.profile
    except ObjectDoesNotExist:
        issues.append(Issue("not-found", entry.path("resource.subject"), NOT_FOUND))
        return None
    zone = profile.timezone
    day = entry.instant.astimezone(ZoneInfo(zone)).date() if entry.instant is not None else entry.day
    assert day is not None  # the parser gives a day or an instant
    where = "resource.effective"  # FHIRPath of the choice element (effectiveDateTime, effectivePeriod...)
    if day > clock.local_today(zone):
        issues.append(Issue("value", entry.path(where), "The date is in the future (in the patient's time zone)."))
        return None
    if day < profile.birth_date:
        issues.append(Issue("value", entry.path(where), "The date is before the patient's birth date."))
        return None
    return day


def _plan(
    planned: list[tuple[ParsedObservation, Patient, date]], issues: list[Issue]
) -> dict[int, EntryResult | int | None]:
    """For each entry: None (record it), an EntryResult (on record already) or the index of an earlier entry of the
    Bundle it repeats. Conflicts (same key, another value) become Issues. Two queries, whatever the size."""
    patient_ids = {patient.pk for _, patient, _ in planned}
    days = {day for _, _, day in planned}
    stored: dict[Key, list[tuple[Decimal, str, UUID]]] = {}
    if any(entry.kind == "dxa" for entry, _, _ in planned):
        for pk, patient_id, site, day, t_score in BoneDensityResult.objects.filter(
            patient_id__in=patient_ids, measured_on__in=days
        ).values_list("pk", "patient_id", "site", "measured_on", "t_score"):
            stored.setdefault((patient_id, "dxa", site, day), []).append((t_score, "", pk))
    if any(entry.kind == "lab" for entry, _, _ in planned):
        for pk, patient_id, kind, day, value, unit in LabResult.objects.filter(
            patient_id__in=patient_ids, measured_on__in=days
        ).values_list("pk", "patient_id", "kind", "measured_on", "value", "unit"):
            stored.setdefault((patient_id, "lab", kind, day), []).append((value, unit, pk))
    seen: dict[Key, tuple[Decimal, str, int]] = {}
    results: dict[int, EntryResult | int | None] = {}
    for entry, patient, day in planned:
        key: Key = (patient.pk, entry.kind, entry.name, day)
        same = [pk for value, unit, pk in stored.get(key, []) if value == entry.value and unit == entry.unit]
        earlier = seen.get(key)
        if same:
            results[entry.index] = EntryResult(False, f"Observation/{same[0]}")
        elif stored.get(key):
            value, unit, _ = stored[key][0]
            issues.append(_conflict(entry, f"{value} {unit}".strip(), "is on record for this patient"))
        elif earlier is not None and (earlier[0], earlier[1]) == (entry.value, entry.unit):
            results[entry.index] = earlier[2]
        elif earlier is not None:
            issues.append(_conflict(entry, f"{earlier[0]} {earlier[1]}".strip(), f"is in entry {earlier[2]}"))
        else:
            seen[key] = (entry.value, entry.unit, entry.index)
            results[entry.index] = None
    return results


def _conflict(entry: ParsedObservation, other: str, where: str) -> Issue:
    return Issue(
        "conflict",
        entry.path("resource.valueQuantity.value"),
        f"Another value ({other}) for the same day and {'site' if entry.kind == 'dxa' else 'test'} {where}; "
        "correct it in BoneSync, then send the Bundle again.",
    )


def _record(actor: User | None, entry: ParsedObservation, patient: Patient, day: date) -> Any:
    if entry.kind == "dxa":
        return bone_density_record(actor=actor, patient=patient, measured_on=day, site=entry.name, t_score=entry.value)
    return lab_record(
        actor=actor, patient=patient, kind=entry.name, value=entry.value, unit=entry.unit, measured_on=day
    )
