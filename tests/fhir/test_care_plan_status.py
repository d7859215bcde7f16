"""A supplement plan past its planned end is a `completed` CarePlan, in her own zone, in read and search alike
(issue 16; docs/clinical-rules.md, "FHIR resources for care")."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from apps.fhir.care_status import past_planned_end, supplement_plan_rows
from apps.supplements.models import SupplementPlan
from apps.supplements.services import supplement_plan_create, supplement_plan_update
from backend import clock
from tests.conftest import World
from tests.fhir.test_care_read_api import checked, entry_ids

BASE = "/fhir/R4/"
ENDS_ON = date(2026, 3, 10)  # her last planned day

pytestmark = pytest.mark.django_db


def a_plan(world: World, patient: Any, *, ends_on: date | None = ENDS_ON) -> SupplementPlan:
    return supplement_plan_create(
        actor=world.phil,
        patient=patient,
        supplement="calcium_carbonate",
        amount=Decimal("500"),
        unit="mg",
        times_of_day=[time(8, 0)],
        starts_on=date(2026, 1, 5),
        ends_on=ends_on,
    )


@pytest.fixture
def plans(world: World) -> dict[str, SupplementPlan]:
    """Ann lives in Auckland (UTC+13 in March), Bea in Los Angeles (UTC-7 from 8 March 2026): the same last day ends
    almost a day apart. Plus an open-ended plan and a stopped one."""
    world.ann.profile.timezone = "Pacific/Auckland"
    world.ann.profile.save()
    world.bea.profile.timezone = "America/Los_Angeles"
    world.bea.profile.save()
    with time_machine.travel(datetime(2026, 1, 5, 12, 0, tzinfo=UTC), tick=False):
        made = {
            "auckland": a_plan(world, world.ann),
            "los_angeles": a_plan(world, world.bea),
            "open": a_plan(world, world.ann, ends_on=None),
            "stopped": a_plan(world, world.bea, ends_on=date(2026, 2, 1)),
        }
        supplement_plan_update(actor=world.phil, plan=made["stopped"], status="stopped")
    return made


def statuses(client: Any, plans: dict[str, SupplementPlan]) -> dict[str, str]:
    names = {f"supplement-{plan.pk}": name for name, plan in plans.items()}
    read = {name: checked(client.get(f"{BASE}CarePlan/{rid}"))["status"] for rid, name in names.items()}
    for status in ("active", "completed", "revoked"):
        found = {names[rid] for rid in entry_ids(checked(client.get(f"{BASE}CarePlan", {"status": status})))}
        assert found == {name for name, value in read.items() if value == status}, (status, read)
        bundle = checked(client.get(f"{BASE}CarePlan", {"status": status, "_count": "1"}))
        assert bundle["total"] == len(found)  # counted in the database, so pages agree with the filter
    return read


@pytest.mark.parametrize(
    ("instant", "auckland", "los_angeles"),
    [
        (datetime(2026, 3, 10, 10, 59, tzinfo=UTC), "active", "active"),  # Auckland 23:59 on the 10th
        (datetime(2026, 3, 10, 11, 0, tzinfo=UTC), "completed", "active"),  # Auckland's 11th, UTC's 10th
        (datetime(2026, 3, 11, 6, 59, tzinfo=UTC), "completed", "active"),  # UTC's 11th, Los Angeles 23:59 on the 10th
        (datetime(2026, 3, 11, 7, 0, tzinfo=UTC), "completed", "completed"),  # Los Angeles' 11th
    ],
    ids=["auckland-last-minute", "auckland-next-day", "utc-next-day-la-last-minute", "la-next-day"],
)
def test_a_plan_completes_when_her_own_day_passes_its_end(
    world: World,
    client_for: Any,
    plans: dict[str, SupplementPlan],
    instant: datetime,
    auckland: str,
    los_angeles: str,
) -> None:
    client = client_for(world.phil)  # the pharmacist reads her organisation: Ann and Bea
    with time_machine.travel(instant, tick=False):
        assert statuses(client, plans) == {
            "auckland": auckland,
            "los_angeles": los_angeles,
            "open": "active",
            "stopped": "revoked",
        }
        body = checked(client.get(f"{BASE}CarePlan/supplement-{plans['auckland'].pk}"))
        assert body["period"] == {"start": "2026-01-05", "end": "2026-03-10"}
        assert body["activity"][0]["detail"]["status"] == ("completed" if auckland == "completed" else "in-progress")


def test_the_filter_agrees_with_her_local_date_in_every_zone_at_any_hour(world: World) -> None:
    """The database filter against backend.clock's local date for a patient in zones from UTC-12 to UTC+14 (and
    offsets that are not whole hours): at her last minute and her next day's first, and every 3 hours around them."""
    zones = ["Etc/GMT+12", "Pacific/Pago_Pago", "America/Los_Angeles", "UTC", "Asia/Kathmandu", "Pacific/Chatham"]
    zones += ["Pacific/Auckland", "Pacific/Kiritimati", "Not/A_Zone"]  # a name no zone has: read as UTC
    with time_machine.travel(datetime(2026, 1, 5, 12, 0, tzinfo=UTC), tick=False):
        plan = a_plan(world, world.ann)
    profile = world.ann.profile
    for zone in zones:
        type(profile).objects.filter(pk=profile.pk).update(timezone=zone)
        zone_name = zone if clock.is_valid_timezone(zone) else "UTC"
        her_next_day = datetime.combine(ENDS_ON + timedelta(days=1), time(0), clock.zone(zone_name)).astimezone(UTC)
        instants = [her_next_day - timedelta(minutes=1), her_next_day]  # her last minute, her first of the next day
        instants += [datetime(2026, 3, 9, 0, 0, tzinfo=UTC) + timedelta(hours=3 * n) for n in range(24)]
        for at in instants:
            expected = clock.local_today(zone_name, at) > ENDS_ON
            matched = supplement_plan_rows(world.phil).filter(past_planned_end(at), pk=plan.pk).exists()
            assert matched == expected, (zone, at)
