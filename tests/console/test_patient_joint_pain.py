"""The patient page's joint-pain card (issue 15, DOMAIN J2-J3): her latest answers, the weekly chart of worst pain
and stiffness with the dashed J3 alert line at 4 (drawn for a laptop and for a phone), the table beside it, the
empty state; her check-ins only, half a year of them, in a constant number of queries; and the rule ids the issue's
pages name link to the rulebook."""

import re
import uuid
from datetime import date, datetime, time, timedelta

import pytest
from django.template import Context, Template

from apps.accounts.models import Patient
from apps.joint_pain.models import JointPainCheckIn
from backend import clock
from tests.conftest import World
from tests.test_query_counts import count_queries

RISING = [2, 2, 3, 3, 4, 5, 6]  # worst pain, oldest week first


def card(html: str) -> str:
    match = re.search(r'<section class="card" aria-labelledby="jp-h"[^>]*>(.*?)</section>', html, re.S)
    assert match, "no joint-pain card"
    return re.sub(r"\s+", " ", match.group(1))


def page_card(client, patient: Patient) -> str:
    response = client.get(f"/console/patients/{patient.pk}/")
    assert response.status_code == 200
    return card(response.content.decode())


def this_monday(patient: Patient) -> date:
    today = clock.local_today(patient.profile.timezone)
    return today - timedelta(days=today.weekday())


def answer(
    patient: Patient,
    week_of: date,
    worst: int,
    *,
    stiffness: int = 3,
    interfered: bool = False,
    ai_impact: str = "none",
) -> JointPainCheckIn:
    at = datetime.combine(week_of + timedelta(days=1), time(19), tzinfo=clock.zone(patient.profile.timezone))
    return JointPainCheckIn.objects.create(
        id=uuid.uuid4(),
        patient=patient,
        answered_at=at,
        week_of=week_of,
        worst_pain=worst,
        stiffness=stiffness,
        interfered=interfered,
        ai_impact=ai_impact,
    )


def rising(patient: Patient) -> list[JointPainCheckIn]:
    """Seven weeks of rising pain up to last week, the last one reporting missed doses because of it."""
    monday = this_monday(patient)
    rows = []
    for n, worst in enumerate(RISING):
        week = monday - timedelta(weeks=len(RISING) - n)
        last = n == len(RISING) - 1
        rows.append(
            answer(
                patient, week, worst, stiffness=worst - 1, interfered=worst >= 5, ai_impact="missed" if last else "none"
            )
        )
    return rows


def test_no_check_in_yet(world: World, console_for) -> None:
    section = page_card(console_for(world.cora), world.ann)
    assert "Joint pain (weekly check-in)" in section
    assert "No check-in yet." in section
    assert "<svg" not in section and "<table" not in section


@pytest.mark.parametrize("who", ["cora", "phil", "admin"])
def test_rising_pain_shows_latest_chart_line_and_table(world: World, console_for, who: str) -> None:
    rows = rising(world.ann)
    section = page_card(console_for(getattr(world, who)), world.ann)
    last = rows[-1]
    answered = last.answered_at.astimezone(clock.zone(world.ann.profile.timezone)).date()
    assert f"Latest, answered {answered:%a %-d %b %Y}:" in section
    assert 'worst pain <strong class="low">6/10</strong>' in section
    assert "stiffness <strong>5/10</strong>" in section
    assert "kept from usual activities: <strong>yes</strong>" in section
    assert 'aromatase inhibitor: <strong class="low">missed doses because of joint pain</strong>' in section
    # The chart, wide and phone-sized, each with its two lines and the dashed alert line labelled with its rule.
    assert section.count('data-chart="lines"') == 1 and section.count('data-chart="lines-phone"') == 1
    assert section.count('<line class="threshold"') == 2
    assert section.count("J3 alert line (4)") == 2
    assert section.count('class="line-0"') == 2 and section.count('class="line-1"') == 2  # worst pain, stiffness
    assert "Worst pain, " in section and "Stiffness, " in section  # the points' titles
    assert section.count('<circle class="dot-0"') == 2 * len(RISING)
    assert '<a class="rule-link" href="/console/rules/#rule-J3">J3</a>' in section
    assert '<a class="rule-link" href="/console/rules/#rule-J2">J2</a>' in section
    # The table beside it: newest week first, every answer of the week.
    weeks = re.findall(r'<tr data-week="([0-9-]+)">', section)
    assert weeks == [row.week_of.isoformat() for row in reversed(rows)]
    newest = re.search(r'<tr data-week="[0-9-]+">(.*?)</tr>', section)
    assert newest is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", newest.group(1))
    assert cells == [
        f"{last.week_of:%-d %b %Y}",
        '<strong class="low">6</strong>',
        "5",
        "yes",
        '<strong class="low">missed doses because of joint pain</strong>',
    ]
    oldest = re.findall(r'<tr data-week="[0-9-]+">(.*?)</tr>', section)[-1]
    assert re.findall(r"<td[^>]*>(.*?)</td>", oldest)[1:] == ["2", "1", "no", "no"]


def test_three_is_below_the_line_and_four_on_it(world: World, console_for) -> None:
    monday = this_monday(world.ann)
    answer(world.ann, monday - timedelta(weeks=1), 4)
    answer(world.ann, monday, 3)
    section = page_card(console_for(world.cora), world.ann)
    assert "worst pain <strong>3/10</strong>" in section  # the latest: not marked
    assert "aromatase inhibitor: <strong>not missed or stopped because of pain</strong>" in section
    assert '<strong class="low">4</strong>' in section
    assert '<strong class="low">3</strong>' not in section


def test_the_chart_draws_the_0_to_10_scale_with_the_line_at_4(world: World, console_for) -> None:
    rising(world.ann)
    html = console_for(world.cora).get(f"/console/patients/{world.ann.pk}/").content.decode()
    wide = re.search(r'<svg[^>]*aria-labelledby="jointpain-title"[^>]*>.*?</svg>', html, re.S)
    assert wide is not None
    ticks = re.findall(r'<text class="tick"[^>]*text-anchor="end">([^<]*)</text>', wide.group(0))
    assert ticks == ["0", "2", "4", "6", "8", "10"]
    svg = wide.group(0)
    line_y = re.findall(r'<line class="threshold"[^>]*y1="([0-9.]+)"', svg)
    grid_y = re.findall(r'<line class="grid"[^>]*y1="([0-9.]+)"', svg)
    assert line_y == [grid_y[ticks.index("4")]]  # the dashed line lies on the grid line of 4


def test_half_a_year_is_drawn_and_an_older_answer_is_only_the_latest(world: World, console_for) -> None:
    monday = this_monday(world.ann)
    old = answer(world.ann, monday - timedelta(weeks=26), 7)  # the week before the window
    section = page_card(console_for(world.cora), world.ann)
    assert "No check-in in the last 26 weeks." in section
    assert "worst pain <strong" in section and "7/10" in section
    first = answer(world.ann, monday - timedelta(weeks=25), 2)  # the window's first week
    section = page_card(console_for(world.cora), world.ann)
    assert re.findall(r'<tr data-week="([0-9-]+)">', section) == [first.week_of.isoformat()]
    assert old.week_of.isoformat() not in section


def test_only_her_own_check_ins(world: World, console_for) -> None:
    rising(world.bea)
    assert "No check-in yet." in page_card(console_for(world.cora), world.ann)
    assert "6/10" in page_card(console_for(world.admin), world.bea)


def test_the_patient_page_queries_do_not_grow_with_check_ins(world: World, console_for) -> None:
    client = console_for(world.cora)
    url = f"/console/patients/{world.ann.pk}/"
    answer(world.ann, this_monday(world.ann), 2)
    one = count_queries(lambda: client.get(url))
    monday = this_monday(world.ann)
    for weeks_ago in range(1, 30):
        answer(world.ann, monday - timedelta(weeks=weeks_ago), weeks_ago % 10)
    assert count_queries(lambda: client.get(url)) == one


# --- rule ids on staff pages link to the rulebook ------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["J1", "J2", "J3", "J4", "T1", "D7", "D8", "Z1"])
def test_the_issues_rule_ids_link_to_their_rulebook_entries(world: World, console_for, rule: str) -> None:
    html = Template("{% load console_tags %}{{ rule|rule_links }}").render(Context({"rule": rule}))
    assert html == f'<a class="rule-link" href="/console/rules/#rule-{rule}">{rule}</a>'
    rules_page = console_for(world.cora).get("/console/rules/").content.decode()
    assert f'id="rule-{rule}"' in rules_page


def test_a_range_of_rule_ids_links_both_ends() -> None:
    html = Template("{% load console_tags %}{{ 'J1-J4'|rule_links }}").render(Context({}))
    assert html == (
        '<a class="rule-link" href="/console/rules/#rule-J1">J1</a>-'
        '<a class="rule-link" href="/console/rules/#rule-J4">J4</a>'
    )
