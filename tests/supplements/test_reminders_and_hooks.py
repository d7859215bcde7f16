"""What the supplements app gives other apps at start-up: the "supplement" reminder source (DST-correct slots),
the calcium/vitamin D plan flags behind the pharmacist's D6 check, and the patient list's calcium_below filter."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.accounts.models import Patient
from apps.medications.facts import findings_for, supplement_plans
from apps.supplements.reminders import SupplementReminderSource
from apps.supplements.selectors import calcium_below, supplement_plan_facts
from apps.supplements.services import supplement_plan_update
from backend.reminder_sources import reminder_sources
from tests.conftest import World
from tests.factories import make_schedule
from tests.supplements.conftest import NOW
from tests.supplements.factories import in_zone, make_diet, make_intake, make_plan

LA = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")


def slots(patient: Patient, start: datetime, end: datetime) -> list:
    return sorted(
        SupplementReminderSource().slots(window_start=start, window_end=end, patient_ids=[patient.id]),
        key=lambda slot: slot.due_at,
    )


# --- reminders ---------------------------------------------------------------------------------------------------
def test_the_source_is_registered() -> None:
    assert "supplement" in {source.kind for source in reminder_sources()}


def test_slots_keep_their_wall_time_across_the_spring_change(world: World) -> None:
    in_zone(world.ann, "America/Los_Angeles")
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        plan = make_plan(world.ann, times_of_day=[time(2, 30), time(8, 0)], starts_on=date(2026, 3, 1))
    found = slots(world.ann, datetime(2026, 3, 7, 8, tzinfo=UTC), datetime(2026, 3, 10, 8, tzinfo=UTC))
    assert [(s.local_date, s.local_time, s.due_at) for s in found] == [
        (date(2026, 3, 7), time(2, 30), datetime(2026, 3, 7, 10, 30, tzinfo=UTC)),  # PST, UTC-8
        (date(2026, 3, 7), time(8, 0), datetime(2026, 3, 7, 16, 0, tzinfo=UTC)),
        # 8 March: 02:30 does not exist (02:00 -> 03:00); it moves forward by the gap.
        (date(2026, 3, 8), time(3, 30), datetime(2026, 3, 8, 10, 30, tzinfo=UTC)),
        (date(2026, 3, 8), time(8, 0), datetime(2026, 3, 8, 15, 0, tzinfo=UTC)),  # PDT, UTC-7
        (date(2026, 3, 9), time(2, 30), datetime(2026, 3, 9, 9, 30, tzinfo=UTC)),
        (date(2026, 3, 9), time(8, 0), datetime(2026, 3, 9, 15, 0, tzinfo=UTC)),
    ]
    first = found[0]
    assert (first.source_kind, first.source_id, first.patient_id) == ("supplement", plan.id, world.ann.id)
    assert first.text_generic == "Time for your supplement"  # privacy: no name without opt-in
    assert first.text_detailed == "Time for your calcium (500 mg)"


def test_an_ambiguous_autumn_time_takes_its_first_instant(world: World) -> None:
    with time_machine.travel(datetime(2026, 10, 1, 12, tzinfo=UTC), tick=False):
        make_plan(
            world.ann,
            supplement="vitamin_d3",
            amount=Decimal("25"),
            unit="mcg",
            times_of_day=[time(1, 30)],
            starts_on=date(2026, 10, 1),
        )
    found = slots(world.ann, datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 10, 26, 12, tzinfo=UTC))
    # Europe/London, 25 October 2026: 01:30 happens twice; the first (BST, 00:30 UTC) is taken.
    assert [s.due_at for s in found] == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]
    assert found[0].text_detailed == "Time for your vitamin D (25 mcg)"


def test_only_active_plans_within_their_dates_remind(world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        ending = make_plan(world.ann, times_of_day=[time(8, 0)], starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 13))
        stopped = make_plan(world.ann, supplement="magnesium", amount=Decimal("250"), times_of_day=[time(9, 0)])
        supplement_plan_update(actor=world.ann.user, plan=stopped, status="stopped")
        make_plan(world.bea, times_of_day=[time(8, 0)])  # another patient
    found = slots(world.ann, datetime(2026, 3, 12, 0, tzinfo=UTC), datetime(2026, 3, 16, 0, tzinfo=UTC))
    assert [(s.source_id, s.local_date) for s in found] == [
        (ending.id, date(2026, 3, 12)),
        (ending.id, date(2026, 3, 13)),
    ]


# --- the pharmacist's D6 check -----------------------------------------------------------------------------------
@pytest.mark.usefixtures("frozen_now")
def test_plan_flags_feed_the_denosumab_check(world: World) -> None:
    denosumab = make_schedule(world.ann, "denosumab", starts_on=date(2025, 6, 2))

    def codes() -> list[str]:
        return [f.code for f in findings_for([denosumab])[denosumab.id]]

    assert "denosumab_without_calcium_vitamin_d" in codes()

    def nutrients(provided: dict) -> dict:
        return {patient_id: sorted(p.nutrient for p in plans) for patient_id, plans in provided.items()}

    assert "denosumab_without_calcium_vitamin_d" in codes()
    make_plan(world.ann, supplement="calcium_carbonate")
    assert nutrients(supplement_plan_facts({world.ann.id, world.bea.id})) == {world.ann.id: ["calcium"]}
    assert "denosumab_without_calcium_vitamin_d" in codes()
    vitamin_d = make_plan(world.ann, supplement="vitamin_d3", amount=Decimal("800"), unit="IU")
    assert nutrients(supplement_plans({world.ann.id})) == {world.ann.id: ["calcium", "vitamin_d"]}
    assert "denosumab_without_calcium_vitamin_d" not in codes()
    supplement_plan_update(actor=world.cora, plan=vitamin_d, status="stopped")
    assert nutrients(supplement_plan_facts({world.ann.id})) == {world.ann.id: ["calcium"]}
    ended = make_plan(world.bea, supplement="vitamin_d3", amount=Decimal("800"), unit="IU", ends_on=date(2026, 3, 1))
    assert ended.patient_id not in supplement_plan_facts({world.bea.id})


# --- the patient list filter -------------------------------------------------------------------------------------
@pytest.mark.usefixtures("frozen_now")
def test_calcium_below_averages_the_last_seven_days(world: World, client_for) -> None:
    # Window: 5-11 March (UTC today is 12 March). Ann: 7 x (700 diet + 500 supplement) = 1,200 a day on average.
    for days_ago in range(1, 8):
        day = date(2026, 3, 12) - timedelta(days=days_ago)
        make_diet(world.ann, day, 700)
        make_intake(world.ann, datetime.combine(day, time(12, 0), tzinfo=LONDON))
    # Bea: 5,000 mg today and 8 days ago (outside the window), and 4,000 of magnesium (not calcium) inside it.
    make_diet(world.bea, date(2026, 3, 12), 5000)
    make_diet(world.bea, date(2026, 3, 4), 5000)
    make_diet(world.bea, date(2026, 3, 10), 350)
    for hour in range(4):
        make_intake(world.bea, datetime(2026, 3, 10, 8 + hour, tzinfo=LONDON), supplement="magnesium", amount=1000)
    everyone = Patient.objects.filter(pk__in=[world.ann.id, world.bea.id, world.zoe.id])
    assert set(calcium_below(everyone, Decimal("1200"))) == {world.bea, world.zoe}  # Zoe logged nothing: 0
    assert set(calcium_below(everyone, Decimal("1200.1"))) == {world.ann, world.bea, world.zoe}
    assert set(calcium_below(everyone, Decimal("50"))) == {world.zoe}  # Bea: 350 / 7 = 50, not below 50
    assert set(calcium_below(everyone, Decimal("50.1"))) == {world.bea, world.zoe}
    assert set(calcium_below(everyone, Decimal("0"))) == set()
    # Through the patient list, scoped as ever.
    response = client_for(world.phil).get("/api/v1/patients/", {"calcium_below": "1200"})
    assert response.status_code == 200, response.content
    assert {row["id"] for row in response.json()["results"]} == {str(world.bea.id)}
    assert client_for(world.phil).get("/api/v1/patients/", {"calcium_below": "abc"}).status_code == 400


@pytest.mark.usefixtures("frozen_now")
def test_calcium_below_counts_local_days_by_their_local_date(world: World) -> None:
    # 23:30 on 11 March in Los Angeles is 06:30 UTC on the 12th, but her day is the 11th: inside the window.
    in_zone(world.ann, "America/Los_Angeles")
    make_intake(world.ann, datetime(2026, 3, 11, 23, 30, tzinfo=LA), amount=Decimal("2100"))
    make_intake(world.ann, datetime(2026, 3, 11, 22, 30, tzinfo=LA), amount=Decimal("2100"))
    make_intake(world.ann, datetime(2026, 3, 11, 21, 30, tzinfo=LA), amount=Decimal("2100"))
    make_intake(world.ann, datetime(2026, 3, 11, 20, 30, tzinfo=LA), amount=Decimal("2100"))
    ann = Patient.objects.filter(pk=world.ann.id)
    assert not calcium_below(ann, Decimal("1200")).exists()  # 8,400 / 7 = 1,200
