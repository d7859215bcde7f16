"""The console's patient page shows the bone-health assessment as the API gives it (issue 11, class 8): on
therapy, with which medicines, and when a DXA is due."""

import re
from datetime import date, timedelta

from apps.profiles.rules import add_months
from tests.conftest import World
from tests.factories import BoneDensityFactory, make_schedule


def bone_section(html: str) -> str:
    match = re.search(r'<section class="card" aria-labelledby="bone-h">(.*?)</section>', html, re.S)
    assert match, "no bone-health section"
    return re.sub(r"\s+", " ", match.group(1))


def test_a_patient_on_denosumab_shows_on_therapy_and_the_next_dxa(world: World, console_for) -> None:
    today = date.today()
    scan_day = today - timedelta(days=100)
    BoneDensityFactory.create(patient=world.ann, measured_on=scan_day, site="lumbar_spine", t_score="-2.4")
    make_schedule(world.ann, "denosumab", starts_on=today - timedelta(days=30))

    section = bone_section(console_for(world.cora).get(f"/console/patients/{world.ann.pk}/").content.decode())

    assert "On bone-directed therapy" in section
    assert "Bone-directed therapy recommended" not in section
    assert "Denosumab 60 mg, since" in section
    assert "Lowest T-score -2.4" in section  # the H2 reason still shows
    due = add_months(scan_day, 12)
    assert f"Next DXA due by <strong>{due:%-d %b %Y}</strong>" in section


def test_without_a_dxa_the_page_says_a_scan_is_due_now(world: World, console_for) -> None:
    section = bone_section(console_for(world.cora).get(f"/console/patients/{world.ann.pk}/").content.decode())
    assert "DXA due <strong>now</strong>: none on record." in section
    assert "On bone-directed therapy" not in section


def test_an_overdue_dxa_says_since_when_as_the_api_does(world: World, console_for, client_for) -> None:
    scan_day = date.today() - timedelta(days=800)  # more than 24 months ago
    BoneDensityFactory.create(patient=world.ann, measured_on=scan_day, site="total_hip", t_score="-0.5")
    section = bone_section(console_for(world.cora).get(f"/console/patients/{world.ann.pk}/").content.decode())
    due = date.fromisoformat(
        client_for(world.cora).get(f"/api/v1/patients/{world.ann.pk}/bone-health/").json()["dxa_due_on"]
    )
    assert due in (add_months(scan_day, 12), add_months(scan_day, 24))
    assert f"DXA due since <strong>{due:%-d %b %Y}</strong> (last scan {scan_day:%-d %b %Y})" in section
