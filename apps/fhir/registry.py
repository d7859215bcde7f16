"""Which FHIR resource types the server answers, where their rows come from and how they are searched.

A resource type is one or more `Source`s (Observation reads DXA results and labs: two tables), each a scoped
queryset, a pure mapper from a row to the resource's dict, a stable order, and per search parameter a function from
the parameter's values to a filter on that table. The views (apps.fhir.views) and the CapabilityStatement
(apps.fhir.capability) are both built from this registry, so what is advertised is what is served.

Registering a type (apps.fhir.setup does it at start-up):

    register(ResourceType(
        name="Flag",
        params={"patient": PATIENT, "date": DATE},
        sources=(Source(
            rows=lambda user: Alert.objects.filter(patient_scope(user)).select_related("patient"),
            mapper=flag_resource,
            order=("created_at", "id"),
            filters={"patient": patient_filter(), "date": date_filter("created_at", instant=True)},
        ),),
    ))

`_id` and `_count` need no entry: every type has them.
"""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Model, Q, QuerySet

from backend.access import NOTHING, ScopedUser

FHIR_VERSION = "4.0.1"


class SearchError(ValueError):
    """A search parameter's value the server cannot read: a 400 OperationOutcome naming it."""


@dataclass(frozen=True)
class SearchParam:
    """A search parameter as the CapabilityStatement lists it (type: FHIR's search param type)."""

    type: str
    documentation: str


Filter = Callable[[list[str]], Q]


@dataclass(frozen=True)
class Source:
    rows: Callable[[ScopedUser], QuerySet[Any]]  # the rows the user may see, with what the mapper reads joined
    # a row -> the resource (a plain dict, JSON-ready); with `per_row` True, a row -> its resources (a list)
    mapper: Callable[[Any], Any]
    order: tuple[str, ...]  # a stable order ending in a unique column, so pages never skip or repeat
    filters: Mapping[str, Filter] = field(default_factory=dict)  # search param -> its filter on this table
    patient_id: Callable[[Any], UUID | None] = lambda row: row.patient_id  # whose data the row is (the audit log)
    # Resource ids that are not the row's pk: `<id_prefix><pk>` (CarePlan: "supplement-", "exercise-"), and with
    # `per_row` (several resources from one row, DetectedIssue: a decision's findings) `<id_prefix><pk>-<n>`.
    id_prefix: str = ""
    per_row: bool = False
    # With `per_row`: an expression of how many resources a row yields, so Bundle.total counts resources.
    weight: Any = None

    def row_pk(self, resource_id: str) -> UUID | None:
        """The pk of the row a resource id names in this source, None if it cannot be one of its ids."""
        if not resource_id.startswith(self.id_prefix):
            return None
        rest = resource_id[len(self.id_prefix) :]
        if self.per_row:
            rest, _, index = rest.rpartition("-")
            if not index.isascii() or not index.isdigit() or len(index) > 3:
                return None
        return as_uuid(rest)

    def resources(self, row: Any) -> list[dict[str, Any]]:
        result = self.mapper(row)
        return list(result) if self.per_row else [result]

    def ids_q(self, values: list[str]) -> Q:
        """`_id`: rows one of the ids names (with `per_row`, the row's every resource; an unknown id matches none)."""
        pks = [pk for pk in (self.row_pk(v) for v in split_values(values)) if pk is not None]
        return Q(pk__in=pks) if pks else NOTHING


@dataclass(frozen=True)
class ResourceType:
    name: str
    sources: Sequence[Source]
    params: Mapping[str, SearchParam] = field(default_factory=dict)
    profile: str = ""  # the base StructureDefinition; default http://hl7.org/fhir/StructureDefinition/<name>
    # Definitions rather than patient data (the joint-pain Questionnaire): a fixed list every caller may read and
    # search by `_id`, not audited (they name nobody). A type has sources or `fixed`, not both.
    fixed: Callable[[], Sequence[dict[str, Any]]] | None = None

    @property
    def audit_resource(self) -> str:
        return f"fhir_{self.name.lower()}"


REGISTRY: dict[str, ResourceType] = {}


def register(resource_type: ResourceType) -> None:
    """Add (or replace, for tests) a resource type; unknown filter names are a programming error."""
    for source in resource_type.sources:
        unknown = set(source.filters) - set(resource_type.params)
        if unknown:
            raise ValueError(f"{resource_type.name}: filters for undeclared params {sorted(unknown)}")
    if resource_type.fixed is not None and (resource_type.sources or resource_type.params):
        raise ValueError(f"{resource_type.name}: a fixed type has no sources and no search params but _id")
    REGISTRY[resource_type.name] = resource_type


# Parameters shared by most types.
PATIENT = SearchParam("reference", "The patient: Patient/<id> or <id>.")
DATE = SearchParam(
    "date",
    "Prefixes eq (default), gt, ge, lt, le; YYYY, YYYY-MM, YYYY-MM-DD or a dateTime (UTC unless it has an offset).",
)
ALL = Q(pk__isnull=False)  # every row (an empty Q() would vanish when ORed with NOTHING)
ID = SearchParam("token", "The resource's logical id (comma-separated for several).")


def split_values(values: list[str]) -> list[str]:
    """FHIR's OR: a comma-separated list within one parameter (each occurrence of a parameter ANDs)."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def as_uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except (ValueError, AttributeError):
        return None


def ids_q(values: list[str], column: str = "pk") -> Q:
    """Rows whose `column` is one of the ids (an id that is not ours matches nothing; not an error)."""
    ids = [uuid for uuid in (as_uuid(v) for v in split_values(values)) if uuid is not None]
    return Q(**{f"{column}__in": ids}) if ids else NOTHING


def patient_filter(column: str = "patient_id") -> Filter:
    """`patient=Patient/<id>` or `patient=<id>` on the table's patient column; each occurrence ANDs."""

    def apply(values: list[str]) -> Q:
        q = Q()
        for value in values:
            # `Patient/<id>`, `<id>`, or an absolute URL ending in `Patient/<id>` (FHIR references may be absolute)
            refs = [v.rpartition("Patient/")[2] for v in split_values([value])]
            q &= ids_q(refs, column)
        return q

    return apply


_PREFIXES = ("eq", "gt", "ge", "lt", "le")


def parse_date_value(raw: str) -> tuple[str, datetime, datetime]:
    """A FHIR date search value -> (prefix, start, end): the value's implicit range [start, end) in UTC (a value
    without an offset is read in UTC; the FHIR spec leaves it to the server)."""
    value = raw.strip()
    prefix = "eq"
    if value[:2].isalpha():
        prefix, value = value[:2], value[2:]
        if prefix not in _PREFIXES:
            raise SearchError(f"date prefix {prefix!r} is not supported (use eq, gt, ge, lt or le)")
    try:
        if len(value) == 4 and value.isdigit():
            start = datetime(int(value), 1, 1, tzinfo=UTC)
            end = datetime(int(value) + 1, 1, 1, tzinfo=UTC)
        elif len(value) == 7 and value[4] == "-":
            year, month = int(value[:4]), int(value[5:7])
            start = datetime(year, month, 1, tzinfo=UTC)
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        elif len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime.combine(day, time(0), tzinfo=UTC)
            end = start + timedelta(days=1)
        elif "T" in value:
            instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
            start = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
            end = start + _precision(value)
        else:
            raise ValueError(value)
    except (ValueError, OverflowError) as exc:
        raise SearchError(f"{raw!r} is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)") from exc
    return prefix, start, end


def _precision(value: str) -> timedelta:
    """The width of a dateTime search value's implicit range: its last given unit (FHIR search, "date": 12:00 is the
    whole minute, 12:00:05 the whole second, 12:00:05.25 a hundredth of a second)."""
    clock_part = re.split(r"[Z+-]", value.split("T", 1)[1], maxsplit=1)[0]
    if "." in clock_part:
        return timedelta(seconds=10 ** -min(len(clock_part.split(".", 1)[1]), 6))
    return {0: timedelta(hours=1), 1: timedelta(minutes=1)}.get(clock_part.count(":"), timedelta(seconds=1))


def date_filter(column: str, *, instant: bool = False) -> Filter:
    """`date` on a DateField (`instant=False`: compared by calendar day) or a DateTimeField."""

    def bound(moment: datetime) -> date | datetime:
        if instant:
            return moment
        # A date column (a UTC calendar day): the first whole day at or after `moment`, taken in UTC.
        moment = moment.astimezone(UTC)
        day = moment.date()
        return day if moment.time() == time(0) else day + timedelta(days=1)

    def apply(values: list[str]) -> Q:
        q = Q()
        for value in values:
            any_of = NOTHING
            for one in split_values([value]):
                prefix, start, end = parse_date_value(one)
                try:
                    lower, upper = bound(start), bound(end)
                except OverflowError as exc:  # the last day of year 9999
                    raise SearchError(f"{one[:40]!r} is out of range") from exc
                any_of |= {
                    "eq": Q(**{f"{column}__gte": lower, f"{column}__lt": upper}),
                    "ge": Q(**{f"{column}__gte": lower}),
                    "gt": Q(**{f"{column}__gte": upper}),
                    "le": Q(**{f"{column}__lt": upper}),
                    "lt": Q(**{f"{column}__lt": lower}),
                }[prefix]
            q &= any_of
        return q

    return apply


def token_filter(table: Mapping[tuple[str, str], Q]) -> Filter:
    """A token parameter over a fixed table (system, code) -> filter. `code`, `system|code`, `|code` (no system: none
    of ours) and `system|` (any code of the system) are understood; a value matching nothing matches no rows."""

    def one(value: str) -> Q:
        if "|" not in value:
            matches = [q for (_, code), q in table.items() if code == value]
        else:
            system, code = value.split("|", 1)
            matches = [q for (s, c), q in table.items() if s == system and (code == "" or c == code) and system != ""]
        result = NOTHING
        for q in matches:
            result |= q
        return result

    def apply(values: list[str]) -> Q:
        q = Q()
        for value in values:
            any_of = NOTHING
            for part in split_values([value]):
                any_of |= one(part)
            q &= any_of
        return q

    return apply


def reference(resource_type: str, obj_id: object) -> dict[str, str]:
    return {"reference": f"{resource_type}/{obj_id}"}


def instant(moment: datetime) -> str:
    """A FHIR instant/dateTime: ISO 8601 with its offset (UTC, seconds)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def model_pk(row: Model) -> str:
    return str(row.pk)
