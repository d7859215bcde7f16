"""The denosumab off-ramp on the console (issue 15 part 4; DOMAIN D7, D5 `stopped`): a line on the patient page's
injection timeline, a "Denosumab off-ramp" card, and a line on the printed summary; read in a fixed number of
queries. Driven as the coordinator does it (schedules through the API), with time travel in her zone."""

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Patient
from apps.alerts.jobs import injection_watch
from apps.console.templatetags import off_ramp_tags
from tests.alerts.test_stopped_follow_on import (
    START,
    STOP_DAY,
    at_local,
    create_schedule,
    patch_schedule,
    stopped_denosumab,
)
from tests.conftest import World

# Given 2026-01-05: follow-on due by 2026-07-05 (D7), protected to 2026-08-02 (D4/D5).


@pytest.fixture
def ann(world: World) -> Patient:
    world.ann.profile.timezone = "America/Los_Angeles"
    world.ann.profile.save()
    return world.ann


def page(client: Any, patient: Patient, path: str = "") -> str:
    response = client.get(f"/console/patients/{patient.pk}/{path}")
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def text(html: str) -> str:
    inline = re.sub(r"</?(a|strong|small|code|span)\b[^>]*>", "", html)  # inline markup joins its text
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", inline)).strip()


def offramp_line(html: str) -> tuple[str, str]:
    (match,) = re.findall(r'<li class="(tl-offramp[^"]*)"[^>]*>(.*?)</li>', html, flags=re.S)
    return match[0], text(match[1])


def card(html: str) -> str:
    return html.split('id="offramp-h"', 1)[1].split("</section>", 1)[0]


def test_a_follow_on_in_time_on_the_timeline_and_the_card(world: World, ann: Patient, client_for, console_for):
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        create_schedule(cora, ann, "zoledronic_acid", date(2026, 7, 10), dose="4 mg")
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
        html = page(console_for(world.cora), ann)
    classes, line = offramp_line(html)
    assert classes == "tl-offramp"  # no warning
    assert line == "5 Jul 2026 Follow-on due by 5 Jul 2026 (D7): zoledronic acid from 10 Jul 2026 — in time"
    assert 'href="/console/rules/#rule-D7"' in html
    box = text(card(html))
    assert "Denosumab 60 mg — stopped Covered" in box
    assert "Last injection 5 Jan 2026" in box and "Follow-on due by 5 Jul 2026" in box
    assert "Protected until 2 Aug 2026" in box
    assert "Zoledronic acid from 10 Jul 2026 — in time" in box
    assert "alert" not in box.split("Follow-on due by", 1)[1].lower()  # nothing to warn about
    # The card sits right before the appointments card; the line is inside the injection timeline.
    assert html.index('id="offramp-h"') < html.index('id="appointments-h"')
    timeline = html.split('id="inj-h"', 1)[1].split("</section>", 1)[0]
    assert "tl-offramp" in timeline


@pytest.mark.parametrize(
    ("day", "status"), [(date(2026, 8, 2), "needs a follow-on"), (date(2026, 8, 3), "protection lapsed")]
)
def test_no_follow_on_is_a_warning(world: World, ann: Patient, client_for, console_for, day: date, status: str):
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        patch_schedule(cora, ann, denosumab, status="stopped")
        injection_watch()
    with at_local(day):
        html = page(console_for(world.phil), ann)
    classes, line = offramp_line(html)
    assert classes == "tl-offramp tl-warning"
    assert line == f"5 Jul 2026 Follow-on due by 5 Jul 2026 (D7): No follow-on scheduled — {status}"
    box = text(card(html))
    assert "none scheduled" in box
    assert "Her stopped alert is open on the worklist" in box


def test_a_follow_on_starting_too_late_is_a_warning(world: World, ann: Patient, client_for, console_for) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        create_schedule(cora, ann, "zoledronic_acid", date(2026, 8, 3), dose="4 mg")
        patch_schedule(cora, ann, denosumab, status="stopped")
        html = page(console_for(world.cora), ann)
    classes, line = offramp_line(html)
    assert classes == "tl-offramp tl-warning"
    assert line.endswith("zoledronic acid from 3 Aug 2026 — too late (after 2 Aug 2026), needs a follow-on")
    assert "starts too late" in text(card(html))


def test_a_planned_end_shows_when_the_alert_will_fire(world: World, ann: Patient, client_for, console_for) -> None:
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    with at_local(STOP_DAY):
        patch_schedule(cora, ann, denosumab, ends_on="2026-06-30")
        html = page(console_for(world.cora), ann)
        summary = text(page(console_for(world.cora), ann, "summary/"))
    box = text(card(html))
    assert "Denosumab 60 mg — stops on 1 Jul 2026 Needs a follow-on" in box
    assert (
        "The stopped alert will be raised on 1 Jul 2026 unless a follow-on starting by 2 Aug 2026 is scheduled." in box
    )
    assert "Off-ramp (D7): follow-on due by 5 Jul 2026; no follow-on scheduled — needs a follow-on." in summary


def test_no_card_and_no_line_without_an_ending_denosumab(world: World, ann: Patient, client_for, console_for) -> None:
    cora = client_for(world.cora)
    with at_local(START):
        create_schedule(cora, ann, "denosumab", START)
        html = page(console_for(world.cora), ann)
    assert "tl-offramp" not in html and "Denosumab off-ramp" not in html


def test_the_off_ramp_adds_the_same_few_queries_however_many_schedules(
    world: World, ann: Patient, client_for, console_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read once for the page's two includes, in a fixed number of queries (the page's query count does not grow
    with follow-ons; each injectable's own timeline reads its doses, as before)."""
    cora = client_for(world.cora)
    denosumab = stopped_denosumab(cora, ann)
    staff = console_for(world.cora)
    calls: list[int] = []
    real = off_ramp_tags.off_ramps_of

    def counted(*args: Any, **kwargs: Any) -> Any:
        with CaptureQueriesContext(connection) as ctx:
            found = real(*args, **kwargs)
        calls.append(len(ctx.captured_queries))
        return found

    monkeypatch.setattr(off_ramp_tags, "off_ramps_of", counted)

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            page(staff, ann)
        return len(ctx.captured_queries)

    with at_local(STOP_DAY):
        patch_schedule(cora, ann, denosumab, status="stopped")
        create_schedule(cora, ann, "zoledronic_acid", date(2026, 7, 10), dose="4 mg")
        total = page_queries()
        assert calls == [2]  # her anti-resorptive schedules; the last injection of each ending one
        for n in range(3):
            create_schedule(cora, ann, "alendronate", STOP_DAY + timedelta(days=n))
        assert page_queries() == total
        for n in range(2):
            other = create_schedule(cora, ann, "denosumab", START + timedelta(days=n))
            patch_schedule(cora, ann, other, ends_on="2026-12-31")
        calls.clear()
        html = page(staff, ann)
        assert html.count('class="tl-offramp') == 3 and html.count('class="off-ramp-item"') == 3
        assert calls == [2]
