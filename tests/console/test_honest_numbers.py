"""Issue 11 on the care team's pages: each patient's alerts together on the worklist (class 7); adherence counted
from when tracking began, truncated to one decimal and labelled with its real length, the same figure on the patient
list, the patient page and the API; days with nothing logged read "not logged" (classes 6, 9)."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine

from apps.accounts.models import Patient
from apps.alerts.services import alert_raise
from tests.conftest import World
from tests.console.conftest import make_critical_denosumab_alert
from tests.factories import CareTeamFactory, PatientFactory, make_dose, make_schedule
from tests.supplements.factories import make_diet

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 6, 17)  # a Wednesday


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON)


def html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_worklist_shows_each_patients_alerts_together_most_urgent_patient_first(world: World, console_for) -> None:
    critical = make_critical_denosumab_alert(world.ann)  # urgent
    dora = PatientFactory.create(organisation=world.org_a, user__full_name="Dora Dale")
    CareTeamFactory.create(patient=dora, staff=world.cora)
    high = alert_raise(patient=dora, kind="note", severity="high", message="Dora: high.", episode="d1")
    normal = alert_raise(patient=world.ann, kind="note", severity="normal", message="Ann: normal.", episode="a1")
    assert high is not None and normal is not None
    page = html(console_for(world.cora), "/console/worklist/")
    # Severity alone would interleave them (urgent Ann, high Dora, normal Ann): Ann's two come together.
    assert re.findall(r'data-alert="([0-9a-f-]+)"', page) == [str(critical.pk), str(normal.pk), str(high.pk)]
    assert re.findall(r'<tr class="patient-group" data-patient="([0-9a-f-]+)"', page) == [
        str(world.ann.pk),
        str(dora.pk),
    ]


def _letrozole_tracked_229_days(patient: Patient) -> None:
    """Daily letrozole started 400 days ago but entered 228 days ago (229 tracked days), taken on the last 183 of
    them: 183 / 229 = 0.7991 over 365 days, every day of the last 180."""
    entered = TODAY - timedelta(days=228)
    with time_machine.travel(at(entered, 9), tick=False):
        schedule = make_schedule(patient, "letrozole", starts_on=TODAY - timedelta(days=400))
    with time_machine.travel(at(TODAY, 9), tick=False):
        for k in range(183):
            make_dose(patient, schedule, taken_at=at(TODAY - timedelta(days=k), 7))


def test_the_patient_page_says_the_real_length_and_never_rounds_onto_80(world: World, console_for, client_for) -> None:
    _letrozole_tracked_229_days(world.ann)
    with time_machine.travel(at(TODAY, 14), tick=False):
        make_diet(world.ann, TODAY, 450)  # today logged; Monday and Tuesday not
        page = html(console_for(world.cora), f"/console/patients/{world.ann.pk}/")
        api = client_for(world.cora).get(f"/api/v1/patients/{world.ann.pk}/adherence/?window=365").json()
    [row] = api
    assert (row["pdc"], row["days_in_window"], row["tracked_days"]) == ("0.799", 229, 229)
    cells = dict(re.findall(r'data-window="(\d+)">(.*?)</td>', page))
    assert cells["90"] == "100.0%"
    assert cells["180"] == "100.0%"
    assert cells["365"] == '79.9%<br><small class="muted">over 229 days</small>'  # not "80%", not "365 days"
    assert "79.9% over 229 days" in page  # the chart's label
    assert "80%" not in page.replace("80.0% adherent", "")
    days = dict(re.findall(r'<tr data-day="([\d-]+)"><td[^>]*>[^<]*</td><td class="num"[^>]*>(.*?)</td>', page))
    assert days == {
        "2026-06-15": '<span class="muted">not logged</span>',
        "2026-06-16": '<span class="muted">not logged</span>',
        "2026-06-17": "450 mg",
    }
    assert "not logged" in page.split('id="ex-h"')[1]  # no session this week: not logged, not "0 min"


def test_the_patient_list_shows_the_pages_figure_and_its_real_length(world: World, console_for, client_for) -> None:
    # Weekly alendronate entered 39 days ago, taken the first three weeks only: 21 of the 39 days judged (today's
    # dose is still to come).
    entered = TODAY - timedelta(days=39)
    with time_machine.travel(at(entered, 9), tick=False):
        schedule = make_schedule(world.ann, "alendronate", starts_on=entered)
    with time_machine.travel(at(entered + timedelta(days=14), 9), tick=False):
        for week in range(3):
            make_dose(world.ann, schedule, taken_at=at(entered + timedelta(days=7 * week), 7))
    with time_machine.travel(at(TODAY, 14), tick=False):
        listing = html(console_for(world.cora), "/console/patients/")
        filtered = html(console_for(world.cora), "/console/patients/?adherence_below=54")
        page = html(console_for(world.cora), f"/console/patients/{world.ann.pk}/")
        [row] = client_for(world.cora).get(f"/api/v1/patients/{world.ann.pk}/adherence/?window=90").json()
    assert (row["pdc"], row["days_in_window"]) == ("0.538", 39)
    assert '53.8%</span><br><small class="muted">over 39 days</small>' in listing
    assert "Ann Archer" in filtered
    assert dict(re.findall(r'data-window="(\d+)">(.*?)</td>', page))["90"].startswith("53.8%")
    with time_machine.travel(at(TODAY, 14), tick=False):
        assert "Ann Archer" not in html(console_for(world.cora), "/console/patients/?adherence_below=53")
