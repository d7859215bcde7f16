"""Query counts stay constant as rows grow (worklist, patient list, review queue), and every page is usable from
the keyboard: a skip link to the main content, a label for every form control, visible focus styles."""

from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.alerts.jobs import low_adherence_watch
from apps.alerts.services import alert_acknowledge, contact_attempt_record
from tests.conftest import World
from tests.console.conftest import add_dxa_history, make_critical_denosumab_alert, make_high_finding_schedule
from tests.factories import CareTeamFactory, PatientFactory, make_schedule

CSS = Path(__file__).resolve().parents[2] / "apps" / "console" / "static" / "console" / "console.css"


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def test_worklist_queries_do_not_grow_with_alerts(world: World, console_for) -> None:
    client = console_for(world.cora)
    alert = make_critical_denosumab_alert(world.ann)
    alert_acknowledge(alert=alert, actor=world.cora, note="Voicemail.")
    contact_attempt_record(alert=alert, actor=world.cora, channel="phone", outcome="no_answer")  # a last contact
    small = queries(client, "/console/worklist/")
    small_list = queries(client, "/console/worklist/list/")  # the refreshed list alone
    for n in range(8):
        patient = PatientFactory.create(organisation=world.org_a, profile__phone="+442079460123")
        CareTeamFactory.create(patient=patient, staff=world.cora)
        more = make_critical_denosumab_alert(patient)
        follow_up = date.today() + timedelta(days=3) if n % 2 else None  # half of them waiting
        contact_attempt_record(
            alert=more, actor=world.cora, channel="sms", outcome="left_message", follow_up_on=follow_up
        )
    assert queries(client, "/console/worklist/") == small
    assert queries(client, "/console/worklist/list/") == small_list
    # session, user, her second factor (set up? verified with?), the kinds the filter offers, count, page (with
    # phones and last contacts), the waiting section, audit insert
    assert small <= 9


@pytest.mark.parametrize("who", ["cora", "phil"])
def test_patient_list_queries_do_not_grow_with_patients(world: World, console_for, who: str) -> None:
    client = console_for(getattr(world, who))
    url = "/console/patients/?alert_level=low&adherence_below=90&calcium_below=1200&exercise_below=150"
    make_critical_denosumab_alert(world.ann)  # one patient matching every filter, so the page query runs in both
    low_adherence_watch()
    small = (queries(client, "/console/patients/"), queries(client, url))
    for _ in range(12):
        patient = PatientFactory.create(organisation=world.org_a)
        CareTeamFactory.create(patient=patient, staff=world.cora)
        make_critical_denosumab_alert(patient)  # entered in the past: their stored PDC is refreshed by the job
    low_adherence_watch()
    assert (queries(client, "/console/patients/"), queries(client, url)) == small


def test_review_queue_queries_do_not_grow_with_schedules(world: World, console_for) -> None:
    client = console_for(world.phil)
    make_high_finding_schedule(world.ann)
    small = queries(client, "/console/reviews/")
    for patient in (world.bea, world.ann):
        make_high_finding_schedule(patient)
        make_schedule(patient, "letrozole")
    assert queries(client, "/console/reviews/") == small


# --- keyboard --------------------------------------------------------------------------------------------------------
class FormControls(HTMLParser):
    """Collects form controls, label targets, ids and links in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.ids: set[str] = set()
        self.focusables: list[dict[str, str | None]] = []
        self.buttons_without_text = 0
        self._in_button = False
        self._button_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "label" and a.get("for"):
            self.label_for.add(str(a["for"]))
        if tag in {"input", "select", "textarea"} and a.get("type") not in {"hidden", "submit"}:
            self.controls.append({"tag": tag, **a})
        if tag in {"a", "button", "input", "select", "textarea"} and a.get("type") != "hidden":
            self.focusables.append({"tag": tag, **a})
        if tag == "button":
            self._in_button, self._button_text = True, ""

    def handle_data(self, data: str) -> None:
        if self._in_button:
            self._button_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False
            if not self._button_text.strip():
                self.buttons_without_text += 1


def pages(world: World) -> list[tuple[str, str]]:
    return [
        ("cora", "/console/worklist/"),
        ("cora", "/console/patients/"),
        ("cora", f"/console/patients/{world.ann.pk}/"),
        ("phil", "/console/reviews/"),
        ("phil", f"/console/patients/{world.ann.pk}/"),
        ("phil", "/console/rules/"),
    ]


def test_every_page_has_a_skip_link_labels_and_named_buttons(world: World, console_for) -> None:
    make_critical_denosumab_alert(world.ann)
    make_high_finding_schedule(world.bea)
    add_dxa_history(world.ann)
    from django.test import Client

    checked = 0
    for who, url in [("anon", "/console/login/"), *pages(world)]:
        client = Client() if who == "anon" else console_for(getattr(world, who))
        parser = FormControls()
        parser.feed(client.get(url).content.decode())
        first = parser.focusables[0]
        assert (first["tag"], first.get("href")) == ("a", "#main"), f"{url}: the skip link must come first"
        assert "main" in parser.ids, url
        for control in parser.controls:
            assert control.get("id") in parser.label_for or control.get("aria-label"), f"{url}: unlabelled {control}"
            checked += 1
        assert parser.buttons_without_text == 0, url
    assert checked >= 10  # the walk is not vacuous: notes, filters, login fields


def test_focus_is_visible_and_the_skip_link_shows_on_focus() -> None:
    css = CSS.read_text()
    assert ":focus-visible" in css and "outline: 3px solid" in css
    assert ".skip-link:focus { top: 8px; }" in css
    assert "outline: none" not in css.replace("main:focus { outline: none; }", "")  # only the skip target
