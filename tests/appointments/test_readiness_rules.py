"""DOMAIN D8 readiness before an injection, item by item (pure rules, no database)."""

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.appointments.rules import Lab, ReadinessFacts, day_over_at, readiness, reminder_instants

DAY = date(2026, 6, 10)
READY = ReadinessFacts(
    appointment_on=DAY,
    drug="denosumab",
    serum_calcium=Lab(Decimal("9.4"), date(2026, 6, 1)),
    has_calcium_plan=True,
    has_vitamin_d_plan=True,
    egfr=Lab(Decimal("72"), date(2026, 5, 2)),
    crcl=None,
    calcium_checks_planned=(),
    first_of_drug=True,
    dental_checks=(date(2026, 5, 20),),
)


def item(facts: ReadinessFacts, code: str) -> tuple[bool, str]:
    found = {i.code: (i.ok, i.message) for i in readiness(facts).items}
    return found[code]


def test_everything_on_record_is_ready() -> None:
    result = readiness(READY)
    assert result.ready
    assert [i.code for i in result.items] == ["serum_calcium", "calcium_vitamin_d", "renal_function", "dental_check"]


def test_serum_calcium_missing_old_or_low() -> None:
    assert item(replace(READY, serum_calcium=None), "serum_calcium") == (
        False,
        "No serum calcium on record: take a blood test before.",
    )
    ok, message = item(replace(READY, serum_calcium=Lab(Decimal("9.4"), date(2026, 5, 10))), "serum_calcium")
    assert (ok, "more than 30 days") == (False, message[message.index("more") : message.index("more") + 17])
    assert item(replace(READY, serum_calcium=Lab(Decimal("9.4"), date(2026, 5, 11))), "serum_calcium")[0]  # 30 days
    ok, message = item(replace(READY, serum_calcium=Lab(Decimal("8.4"), date(2026, 6, 1))), "serum_calcium")
    assert not ok and "is low (below 8.5)" in message
    assert item(replace(READY, serum_calcium=Lab(Decimal("8.5"), date(2026, 6, 1))), "serum_calcium")[0]
    assert not readiness(replace(READY, serum_calcium=None)).ready


def test_calcium_and_vitamin_d_plans() -> None:
    assert item(replace(READY, has_vitamin_d_plan=False), "calcium_vitamin_d") == (
        False,
        "No active vitamin D plan: she should take both every day.",
    )
    assert item(replace(READY, has_calcium_plan=False, has_vitamin_d_plan=False), "calcium_vitamin_d")[1].startswith(
        "No active calcium or vitamin D plan"
    )


def test_renal_function_unknown_and_below_30_needs_a_calcium_check_within_14_days() -> None:
    assert item(replace(READY, egfr=None), "renal_function") == (
        False,
        "No eGFR or CrCl on record: check kidney function.",
    )
    assert item(replace(READY, egfr=None, crcl=Lab(Decimal("55"), DAY)), "renal_function") == (
        True,
        "CrCl 55 on 10 June 2026.",
    )
    low = replace(READY, egfr=Lab(Decimal("24"), date(2026, 5, 2)))
    ok, message = item(low, "renal_function")
    assert not ok and "book a calcium check within 14 days after the injection" in message
    assert item(replace(low, calcium_checks_planned=(date(2026, 6, 24),)), "renal_function")[0]  # day 14
    assert not item(replace(low, calcium_checks_planned=(date(2026, 6, 25),)), "renal_function")[0]  # day 15
    assert not item(replace(low, calcium_checks_planned=(DAY,)), "renal_function")[0]  # not after


def test_dental_check_before_a_first_denosumab_only() -> None:
    assert item(replace(READY, dental_checks=()), "dental_check") == (
        False,
        "First injection and no dental check recorded: ask for a dental exam first.",
    )
    assert not item(replace(READY, dental_checks=(date(2026, 6, 11),)), "dental_check")[0]  # after it
    assert item(replace(READY, dental_checks=(), first_of_drug=False), "dental_check")[0]
    assert "dental_check" not in {i.code for i in readiness(replace(READY, drug="teriparatide")).items}


def test_reminder_instants_and_day_end_follow_her_zone_across_dst() -> None:
    london = ZoneInfo("Europe/London")
    starts = datetime(2026, 10, 26, 11, 0, tzinfo=london)  # Monday after the autumn change (25 October)
    assert [(d, local, at.isoformat()) for d, local, at in reminder_instants(starts, london)] == [
        (3, date(2026, 10, 23), "2026-10-23T08:00:00+00:00"),  # 09:00 BST
        (1, date(2026, 10, 25), "2026-10-25T09:00:00+00:00"),  # 09:00 GMT
    ]
    assert day_over_at(starts, london).isoformat() == "2026-10-27T00:00:00+00:00"
