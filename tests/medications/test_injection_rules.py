"""Injection schedule rules (DOMAIN D1-D5, M4, M5): pure functions, no database."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.medications.rules.injection import (
    BANDS_BY_DRUG,
    DENOSUMAB_BANDS,
    ZOLEDRONIC_ACID_BANDS,
    AlertSpec,
    InjectionBands,
    InjectionState,
    Severity,
    add_months,
    alert_for,
    injection_status,
    is_transition,
    next_change_date,
    next_due_date,
    notice_for,
)

S = InjectionState
DUE = date(2026, 3, 12)
DUE_TEXT = "12 March 2026"


def status_at(offset: int, bands: InjectionBands = DENOSUMAB_BANDS, *, stopped: bool = False, due: date = DUE):
    return injection_status(next_due=due, today=due + timedelta(days=offset), stopped=stopped, bands=bands)


def signature(next_due: date, today: date, stopped: bool, bands: InjectionBands):
    """What next_change_date promises to track: the state and the alert's identity, not its day-counting text."""
    status = injection_status(next_due=next_due, today=today, stopped=stopped, bands=bands)
    alert = alert_for(status, bands)
    return status.state, None if alert is None else (alert.kind, alert.severity)


# --- bands ---------------------------------------------------------------------------------------------------------


def test_denosumab_bands_follow_domain():
    b = DENOSUMAB_BANDS
    assert (b.drug, b.interval_months, b.due_soon_days, b.on_time_days, b.late_until_days, b.due_alert_from_day) == (
        "denosumab",
        6,  # DOMAIN D1
        28,  # DOMAIN D5
        28,  # DOMAIN D4
        112,  # DOMAIN D4
        7,  # DOMAIN D5
    )
    assert b.rebound_risk


def test_zoledronic_acid_bands_are_wider_and_without_rebound():
    z = ZOLEDRONIC_ACID_BANDS
    assert z.drug == "zoledronic_acid"
    assert z.interval_months == 6  # DOMAIN M5
    assert z.on_time_days > DENOSUMAB_BANDS.on_time_days
    assert z.late_until_days > DENOSUMAB_BANDS.late_until_days
    assert not z.rebound_risk
    assert z.dose_noun == "infusion"


def test_bands_by_drug_is_keyed_by_drug():
    assert BANDS_BY_DRUG == {"denosumab": DENOSUMAB_BANDS, "zoledronic_acid": ZOLEDRONIC_ACID_BANDS}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"drug": ""}, id="no_drug"),
        pytest.param({"interval_months": 0}, id="zero_interval"),
        pytest.param({"due_soon_days": -1}, id="negative_due_soon"),
        pytest.param({"on_time_days": -1, "due_alert_from_day": 0}, id="negative_on_time"),
        pytest.param({"late_until_days": 27}, id="late_shorter_than_on_time"),
        pytest.param({"due_alert_from_day": 29}, id="due_alert_outside_due_band"),
        pytest.param({"due_alert_from_day": -1}, id="negative_due_alert"),
    ],
)
def test_invalid_bands_are_rejected(changes):
    values = {
        "drug": "denosumab",
        "interval_months": 6,
        "due_soon_days": 28,
        "on_time_days": 28,
        "late_until_days": 112,
        "due_alert_from_day": 7,
    }
    with pytest.raises(ValueError):
        InjectionBands(**(values | changes))


# --- due dates (DOMAIN D1, D2) -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(date(2026, 8, 31), 6, date(2027, 2, 28), id="aug31_to_feb28_common_year"),
        pytest.param(date(2027, 8, 31), 6, date(2028, 2, 29), id="aug31_to_feb29_leap_year"),
        pytest.param(date(2028, 2, 29), 6, date(2028, 8, 29), id="from_leap_day"),
        pytest.param(date(2026, 3, 31), 6, date(2026, 9, 30), id="mar31_to_sep30"),
        pytest.param(date(2026, 9, 15), 6, date(2027, 3, 15), id="across_year_end"),
        pytest.param(date(2026, 1, 31), 1, date(2026, 2, 28), id="jan31_plus_one"),
        pytest.param(date(2026, 3, 12), 0, date(2026, 3, 12), id="zero_months"),
        pytest.param(date(2026, 3, 31), -1, date(2026, 2, 28), id="backwards_clamped"),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("last_given", "expected"),
    [
        pytest.param(date(2026, 8, 31), date(2027, 2, 28), id="month_end_common_year"),
        pytest.param(date(2027, 8, 31), date(2028, 2, 29), id="month_end_leap_day"),
        pytest.param(date(2026, 3, 12), date(2026, 9, 12), id="plain"),
    ],
)
def test_next_due_is_last_given_plus_six_months(last_given, expected):
    assert next_due_date(last_given=last_given, first_due=date(2020, 1, 1), bands=DENOSUMAB_BANDS) == expected


def test_next_due_before_any_injection_is_the_first_scheduled_date():
    assert next_due_date(last_given=None, first_due=DUE, bands=DENOSUMAB_BANDS) == DUE


def test_late_injection_restarts_the_clock_from_the_late_date():
    # DOMAIN D2: planned for 12 March, given 40 days late on 21 April -> next due 21 October, not 12 September.
    given_late = DUE + timedelta(days=40)
    assert given_late == date(2026, 4, 21)
    assert next_due_date(last_given=given_late, first_due=DUE, bands=DENOSUMAB_BANDS) == date(2026, 10, 21)
    assert next_due_date(last_given=given_late, first_due=DUE, bands=DENOSUMAB_BANDS) != add_months(DUE, 6)


def test_zoledronic_acid_interval():
    assert next_due_date(last_given=date(2026, 8, 31), first_due=DUE, bands=ZOLEDRONIC_ACID_BANDS) == date(2027, 2, 28)


# --- states (DOMAIN D5) --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "state"),
    [
        pytest.param(-200, S.SCHEDULED, id="far_ahead_scheduled"),
        pytest.param(-29, S.SCHEDULED, id="29_before_scheduled"),
        pytest.param(-28, S.DUE_SOON, id="28_before_due_soon"),
        pytest.param(-1, S.DUE_SOON, id="1_before_due_soon"),
        pytest.param(0, S.DUE, id="due_date_due"),
        pytest.param(28, S.DUE, id="28_late_due"),
        pytest.param(29, S.LATE, id="29_late_late"),
        pytest.param(112, S.LATE, id="112_late_late"),
        pytest.param(113, S.CRITICAL, id="113_late_critical"),
        pytest.param(1000, S.CRITICAL, id="far_past_critical"),
    ],
)
def test_denosumab_state_boundaries(offset, state):
    status = status_at(offset)
    assert status.state == state
    assert status.next_due == DUE
    assert status.days_overdue == max(0, offset)
    assert status.days_until_due == max(0, -offset)


@pytest.mark.parametrize(
    ("offset", "state"),
    [
        pytest.param(-29, S.SCHEDULED, id="29_before_scheduled"),
        pytest.param(-28, S.DUE_SOON, id="28_before_due_soon"),
        pytest.param(0, S.DUE, id="due_date_due"),
        pytest.param(56, S.DUE, id="56_late_due"),
        pytest.param(57, S.LATE, id="57_late_late"),
        pytest.param(182, S.LATE, id="182_late_late"),
        pytest.param(183, S.CRITICAL, id="183_late_critical"),
    ],
)
def test_zoledronic_acid_state_boundaries(offset, state):
    assert status_at(offset, ZOLEDRONIC_ACID_BANDS).state == state


@pytest.mark.parametrize("offset", [-200, -29, -28, -1, 0, 7, 28, 29, 112, 113, 1000])
def test_stopped_overrides_every_band(offset):
    status = status_at(offset, stopped=True)
    assert status.state == S.STOPPED
    assert status.days_overdue == max(0, offset)
    assert status.days_until_due == max(0, -offset)


# --- alerts ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bands", "offset", "stopped", "expected"),
    [
        pytest.param(DENOSUMAB_BANDS, -29, False, None, id="dmab_scheduled_none"),
        pytest.param(DENOSUMAB_BANDS, -28, False, None, id="dmab_due_soon_none"),
        pytest.param(DENOSUMAB_BANDS, 0, False, None, id="dmab_due_day0_none"),
        pytest.param(DENOSUMAB_BANDS, 6, False, None, id="dmab_due_day6_none"),
        pytest.param(DENOSUMAB_BANDS, 7, False, ("denosumab_due", Severity.NORMAL), id="dmab_due_day7_normal"),
        pytest.param(DENOSUMAB_BANDS, 28, False, ("denosumab_due", Severity.NORMAL), id="dmab_due_day28_normal"),
        pytest.param(DENOSUMAB_BANDS, 29, False, ("denosumab_late", Severity.HIGH), id="dmab_late_high"),
        pytest.param(DENOSUMAB_BANDS, 112, False, ("denosumab_late", Severity.HIGH), id="dmab_late_day112_high"),
        pytest.param(DENOSUMAB_BANDS, 113, False, ("denosumab_critical", Severity.URGENT), id="dmab_critical_urgent"),
        pytest.param(DENOSUMAB_BANDS, -60, True, ("denosumab_stopped", Severity.HIGH), id="dmab_stopped_high"),
        pytest.param(ZOLEDRONIC_ACID_BANDS, 13, False, None, id="za_due_day13_none"),
        pytest.param(
            ZOLEDRONIC_ACID_BANDS, 14, False, ("zoledronic_acid_due", Severity.NORMAL), id="za_due_day14_normal"
        ),
        pytest.param(ZOLEDRONIC_ACID_BANDS, 57, False, ("zoledronic_acid_late", Severity.HIGH), id="za_late_high"),
        pytest.param(
            ZOLEDRONIC_ACID_BANDS, 183, False, ("zoledronic_acid_critical", Severity.URGENT), id="za_critical_urgent"
        ),
        pytest.param(ZOLEDRONIC_ACID_BANDS, 0, True, ("zoledronic_acid_stopped", Severity.HIGH), id="za_stopped_high"),
    ],
)
def test_alert_kind_and_severity_per_state(bands, offset, stopped, expected):
    alert = alert_for(status_at(offset, bands, stopped=stopped), bands)
    if expected is None:
        assert alert is None
    else:
        assert isinstance(alert, AlertSpec)
        assert (alert.kind, alert.severity) == expected
        # Each alert names the rulebook entry stating its bands: D5 for denosumab, Z1 for zoledronic acid.
        assert alert.rule == ("D5" if bands is DENOSUMAB_BANDS else "Z1")


def _alert(offset: int, bands: InjectionBands = DENOSUMAB_BANDS, *, stopped: bool = False) -> AlertSpec:
    alert = alert_for(status_at(offset, bands, stopped=stopped), bands)
    assert alert is not None
    return alert


def test_due_alert_names_due_date_days_overdue_and_last_on_time_day():
    message = _alert(7).message
    assert DUE_TEXT in message
    assert "7 days overdue" in message
    assert "9 April 2026" in message  # due + 28 days (DOMAIN D4): last on-time day


def test_day_count_is_singular_for_one_day():
    bands = InjectionBands("denosumab", 6, 28, 28, 112, 1)
    assert "is 1 day overdue" in _alert(1, bands).message


def test_denosumab_late_alert_speaks_of_rebound_and_bridging():
    message = _alert(40).message
    assert DUE_TEXT in message and "40 days overdue" in message
    assert "Rebound risk" in message
    assert "vertebral fractures" in message  # DOMAIN D3
    assert "pharmacist" in message and "bridging oral bisphosphonate" in message


def test_denosumab_critical_alert_recommends_fracture_assessment():
    message = _alert(113).message
    assert DUE_TEXT in message and "113 days overdue" in message
    assert "fracture assessment" in message  # DOMAIN D4


def test_denosumab_stopped_alert_asks_for_follow_on_bisphosphonate():
    message = _alert(5, stopped=True).message
    assert DUE_TEXT in message and "5 days overdue" in message
    assert "follow-on bisphosphonate" in message
    assert "ECTS 2017" in message
    assert "overdue" not in _alert(-10, stopped=True).message


@pytest.mark.parametrize(
    ("offset", "when"),
    [
        (-10, "starting by 12 March 2026, at the latest 9 April 2026"),
        (28, "starting by 12 March 2026, at the latest 9 April 2026"),  # the last protected day
        (29, "starting as soon as possible: the stopped injections' protection ended on 9 April 2026"),
    ],
)
def test_denosumab_stopped_alert_names_the_off_ramps_dates(offset: int, when: str) -> None:
    """The D5 `stopped` alert is the off-ramp's alert (DOMAIN D7): it says by when the follow-on must start."""
    assert when in _alert(offset, stopped=True).message


@pytest.mark.parametrize(
    ("offset", "stopped"),
    [
        pytest.param(14, False, id="due"),
        pytest.param(57, False, id="late"),
        pytest.param(183, False, id="critical"),
        pytest.param(0, True, id="stopped"),
    ],
)
def test_zoledronic_acid_alerts_have_no_rebound_wording(offset, stopped):
    message = _alert(offset, ZOLEDRONIC_ACID_BANDS, stopped=stopped).message
    assert message.startswith("Zoledronic acid")
    assert "rebound" not in message.lower()
    assert "bridging" not in message
    assert DUE_TEXT in message


# --- patient notices -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bands", "offset", "stopped", "state"),
    [
        pytest.param(DENOSUMAB_BANDS, -28, False, S.DUE_SOON, id="dmab_due_soon"),
        pytest.param(DENOSUMAB_BANDS, 0, False, S.DUE, id="dmab_due_day0"),
        pytest.param(DENOSUMAB_BANDS, 10, False, S.DUE, id="dmab_due_day10"),
        pytest.param(DENOSUMAB_BANDS, 29, False, S.LATE, id="dmab_late"),
        pytest.param(DENOSUMAB_BANDS, 113, False, S.CRITICAL, id="dmab_critical"),
        pytest.param(DENOSUMAB_BANDS, -5, True, S.STOPPED, id="dmab_stopped"),
        pytest.param(ZOLEDRONIC_ACID_BANDS, -1, False, S.DUE_SOON, id="za_due_soon"),
        pytest.param(ZOLEDRONIC_ACID_BANDS, 56, False, S.DUE, id="za_due"),
        pytest.param(ZOLEDRONIC_ACID_BANDS, 57, False, S.LATE, id="za_late"),
        pytest.param(ZOLEDRONIC_ACID_BANDS, 183, False, S.CRITICAL, id="za_critical"),
        pytest.param(ZOLEDRONIC_ACID_BANDS, 300, True, S.STOPPED, id="za_stopped"),
    ],
)
def test_notice_for_every_non_scheduled_state(bands, offset, stopped, state):
    status = status_at(offset, bands, stopped=stopped)
    assert status.state == state
    notice = notice_for(status, bands, drug_label="Prolia")
    assert notice is not None
    assert notice.kind == f"{bands.drug}_{state.value}"
    assert DUE_TEXT in notice.body
    assert "Prolia" in notice.title and "Prolia" in notice.body
    assert "clinic" in notice.body
    for jargon in ("bisphosphonate", "vertebral", "rebound", "anti-resorptive", "DOMAIN"):
        assert jargon not in notice.body.lower()


def test_no_notice_while_scheduled():
    assert notice_for(status_at(-29), DENOSUMAB_BANDS, drug_label="denosumab") is None


def test_notice_dates_have_no_leading_zero():
    status = status_at(-3, due=date(2027, 1, 5))
    notice = notice_for(status, DENOSUMAB_BANDS, drug_label="denosumab")
    assert notice is not None
    assert "5 January 2027" in notice.body
    assert "05" not in notice.body


def test_due_notice_says_today_on_the_due_date_and_was_due_after():
    today = notice_for(status_at(0), DENOSUMAB_BANDS, drug_label="denosumab")
    later = notice_for(status_at(3), DENOSUMAB_BANDS, drug_label="denosumab")
    assert today is not None and later is not None
    assert f"is due today, {DUE_TEXT}" in today.body
    assert f"was due on {DUE_TEXT}" in later.body


@pytest.mark.parametrize(
    ("offset", "stopped"),
    [pytest.param(29, False, id="late"), pytest.param(113, False, id="critical"), pytest.param(0, True, id="stopped")],
)
def test_spine_fracture_warning_only_for_denosumab(offset, stopped):
    dmab = notice_for(status_at(offset, stopped=stopped), DENOSUMAB_BANDS, drug_label="denosumab")
    za_offset = {29: 57, 113: 183, 0: 0}[offset]
    za = notice_for(
        status_at(za_offset, ZOLEDRONIC_ACID_BANDS, stopped=stopped),
        ZOLEDRONIC_ACID_BANDS,
        drug_label="zoledronic acid",
    )
    assert dmab is not None and za is not None
    assert "spine fractures" in dmab.body
    assert "spine fractures" not in za.body
    assert "infusion" in za.body


def test_late_notice_matches_the_example_wording():
    notice = notice_for(status_at(40), DENOSUMAB_BANDS, drug_label="denosumab")
    assert notice is not None
    assert notice.body.startswith(f"Your denosumab injection was due on {DUE_TEXT}. Please call your clinic to book it")
    assert notice.body.endswith("a delay raises the risk of spine fractures.")


# --- transitions -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        pytest.param(None, S.SCHEDULED, True, id="first_evaluation"),
        pytest.param(S.DUE, S.DUE, False, id="same_state"),
        pytest.param(S.DUE, S.LATE, True, id="due_to_late"),
        pytest.param(S.LATE, S.SCHEDULED, True, id="injection_recorded"),
        pytest.param(S.CRITICAL, S.STOPPED, True, id="stopped"),
    ],
)
def test_is_transition(previous, current, expected):
    assert is_transition(previous, current) is expected


# --- next_change_date ------------------------------------------------------------------------------------------------


def test_next_change_dates_walk_every_denosumab_boundary():
    today = DUE - timedelta(days=200)
    seen = []
    while (change := next_change_date(next_due=DUE, today=today, stopped=False, bands=DENOSUMAB_BANDS)) is not None:
        seen.append((change - DUE).days)
        today = change
    assert seen == [-28, 0, 7, 29, 113]  # DOMAIN D5: due_soon, due, due alert, late, critical


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        pytest.param(-29, -28, id="scheduled_to_due_soon"),
        pytest.param(-1, 0, id="due_soon_to_due"),
        pytest.param(6, 7, id="due_alert_starts"),
        pytest.param(7, 29, id="alerted_due_to_late"),
        pytest.param(28, 29, id="due_to_late"),
        pytest.param(112, 113, id="late_to_critical"),
    ],
)
def test_next_change_date_at_each_boundary(offset, expected):
    today = DUE + timedelta(days=offset)
    assert next_change_date(next_due=DUE, today=today, stopped=False, bands=DENOSUMAB_BANDS) == DUE + timedelta(
        days=expected
    )


@pytest.mark.parametrize(
    ("offset", "stopped"),
    [pytest.param(113, False, id="critical"), pytest.param(-100, True, id="stopped")],
)
def test_next_change_date_none_when_nothing_will_change(offset, stopped):
    today = DUE + timedelta(days=offset)
    assert next_change_date(next_due=DUE, today=today, stopped=stopped, bands=DENOSUMAB_BANDS) is None


@st.composite
def bands_strategy(draw):
    on_time = draw(st.integers(0, 40))
    return InjectionBands(
        drug=draw(st.sampled_from(["denosumab", "zoledronic_acid"])),
        interval_months=6,
        due_soon_days=draw(st.integers(0, 40)),
        on_time_days=on_time,
        late_until_days=on_time + draw(st.integers(0, 120)),
        due_alert_from_day=draw(st.integers(0, on_time)),
        rebound_risk=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(
    bands=st.one_of(st.sampled_from([DENOSUMAB_BANDS, ZOLEDRONIC_ACID_BANDS]), bands_strategy()),
    next_due=st.dates(date(2024, 1, 1), date(2030, 12, 31)),
    offset=st.integers(-250, 250),
    stopped=st.booleans(),
)
def test_next_change_date_matches_brute_force(bands, next_due, offset, stopped):
    today = next_due + timedelta(days=offset)
    now = signature(next_due, today, stopped, bands)
    # Past the critical boundary nothing changes, so this horizon is enough to see every change.
    horizon = next_due + timedelta(days=bands.late_until_days + 2)
    expected = None
    day = today + timedelta(days=1)
    while day <= max(horizon, today + timedelta(days=1)):
        if signature(next_due, day, stopped, bands) != now:
            expected = day
            break
        day += timedelta(days=1)
    assert next_change_date(next_due=next_due, today=today, stopped=stopped, bands=bands) == expected
    if expected is None:
        # Confirm nothing changes even far beyond the horizon.
        assert signature(next_due, horizon + timedelta(days=3650), stopped, bands) == now
