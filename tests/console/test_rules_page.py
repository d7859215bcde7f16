"""The clinical rulebook inside the console (/console/rules/): docs/clinical-rules.md with an anchor per rule, and
every rule id shown on the staff pages (worklist alerts, review findings, bone-health reasons) a link to its entry."""

import re

from apps.console import rulebook
from tests.conftest import World
from tests.console.conftest import make_critical_denosumab_alert, make_high_finding_schedule

LINK = re.compile(r'<a class="rule-link" href="/console/rules/#(rule-[A-Z][0-9])">([A-Z][0-9])</a>')


def anchors(html: str) -> set[str]:
    return set(re.findall(r'id="(rule-[A-Z][0-9])"', html))


def test_the_rulebook_page_has_an_anchor_per_rule(world: World, console_for) -> None:
    response = console_for(world.phil).get("/console/rules/")
    assert response.status_code == 200
    html = response.content.decode()
    assert anchors(html) == {f"rule-{rule_id}" for rule_id in rulebook.load().rule_ids}
    assert '<h3 id="rule-Z1">Z1 Zoledronic acid delay bands</h3>' in html
    assert "No rebound effect" in html  # Z1's reasoning, rendered
    assert 'aria-current="page">Rulebook</a>' in html


def test_worklist_and_patient_page_link_each_alerts_rule(world: World, console_for) -> None:
    make_critical_denosumab_alert(world.ann)
    client = console_for(world.cora)
    book = anchors(client.get("/console/rules/").content.decode())
    worklist = client.get("/console/worklist/").content.decode()
    assert LINK.findall(worklist) == [("rule-D5", "D5")]
    patient = client.get(f"/console/patients/{world.ann.pk}/").content.decode()
    linked = set(LINK.findall(patient))
    assert ("rule-D5", "D5") in linked  # the open alert
    assert ("rule-H1", "H1") in linked  # the bone-health reason: no DXA on record yet
    assert {anchor for anchor, _ in linked} <= book


def test_review_findings_link_their_rules_ranges_included(world: World, console_for) -> None:
    make_high_finding_schedule(world.ann)
    client = console_for(world.phil)
    book = anchors(client.get("/console/rules/").content.decode())
    html = client.get("/console/reviews/").content.decode()
    linked = set(LINK.findall(html))
    # Two anti-resorptives at once (rule "M1-M5": both ends linked); denosumab without calcium/vitamin D (D6).
    assert {("rule-M1", "M1"), ("rule-M5", "M5"), ("rule-D6", "D6")} <= linked
    assert '<a class="rule-link" href="/console/rules/#rule-M1">M1</a>-<a' in html
    assert {anchor for anchor, _ in linked} <= book
