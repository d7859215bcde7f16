"""A supplement plan past its planned end is a `completed` CarePlan (docs/clinical-rules.md, "FHIR resources for
care"): past in her own zone, since her today is not the server's (backend.clock: "today" belongs to the patient).

The read computes her local date from her profile's zone. The `status` search needs the same answer as a database
filter (constant queries, correct counts and pages), without a per-zone date function the embedded SQLite lacks: at
any instant every IANA zone's local date is the UTC date or a day either side (offsets lie within -12 h .. +14 h), so
"`ends_on` before her local date" is "`ends_on` before the UTC date, unless her zone is still on the day before",
plus "`ends_on` before tomorrow" for the zones already there. Both lists of zone names are computed in Python at the
request's instant: the filter is exact, not a UTC date with a day's tolerance.
"""

from collections import defaultdict
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from apps.fhir.registry import Filter, token_filter
from apps.fhir.resources.care import care_plan_from_supplement_plan
from apps.supplements.models import PlanStatus, SupplementPlan
from backend import clock
from backend.access import ScopedUser, patient_scope

ZONE = "plan_zone"  # the annotation: her profile's zone, UTC when she has no profile


@lru_cache(maxsize=1)
def _zones() -> tuple[ZoneInfo, ...]:
    # Profiles store names backend.clock accepts (the tz database's IANA names); the pseudo zones are not among them.
    names = sorted(available_timezones() - {"localtime", "Factory", "posixrules"})
    return tuple(ZoneInfo(name) for name in names)


def supplement_plan_rows(user: ScopedUser) -> QuerySet[SupplementPlan]:
    """The supplement plans the user may see, each with her zone (the read's today, the status filter's column)."""
    zone = Coalesce(F("patient__profile__timezone"), Value("UTC"), output_field=CharField())
    return SupplementPlan.objects.filter(patient_scope(user)).annotate(**{ZONE: zone})


def _local_today(zone_name: str) -> date:
    try:
        return clock.local_today(zone_name)
    except ValueError:  # not a zone name (profiles validate theirs): read as UTC, like the filter does
        return clock.now().astimezone(UTC).date()


def supplement_care_plan(plan: Any) -> dict[str, Any]:
    """The CarePlan of a row from `supplement_plan_rows`: completed once her local date is past `ends_on`."""
    return care_plan_from_supplement_plan(plan, today=_local_today(getattr(plan, ZONE)))


def past_planned_end(at: datetime) -> Q:
    """Active supplement plans whose `ends_on` is before their patient's local date at instant `at` (rows from
    `supplement_plan_rows`)."""
    utc_day = at.astimezone(UTC).date()
    elsewhere: defaultdict[date, list[str]] = defaultdict(list)  # zones whose local date is not the UTC date
    for tz in _zones():
        day = at.astimezone(tz).date()
        if day != utc_day:
            elsewhere[day].append(tz.key)
    behind = [name for day, names in elsewhere.items() if day < utc_day for name in names]
    past = Q(ends_on__lt=utc_day) & ~Q(**{f"{ZONE}__in": behind})
    for day, names in elsewhere.items():
        past |= Q(ends_on__lt=day, **{f"{ZONE}__in": names})
    return Q(status=PlanStatus.ACTIVE, ends_on__isnull=False) & past


def supplement_status_filter(system: str) -> Filter:
    """`status` on supplement plans: active (and not past its end), completed (past it), revoked (stopped); built at
    each request, since which plans are past their end depends on the instant."""

    def apply(values: list[str]) -> Q:
        completed = past_planned_end(clock.now())
        return token_filter(
            {
                (system, "active"): Q(status=PlanStatus.ACTIVE) & ~completed,
                (system, "completed"): completed,
                (system, "revoked"): Q(status=PlanStatus.STOPPED),
            }
        )(values)

    return apply
