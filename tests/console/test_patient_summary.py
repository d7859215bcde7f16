"""The printable patient summary (issue 14, point 10): what the clinic visit needs on one page, nothing to click,
scoped and audited like the patient page. Printing it (one A4 page) is in test_phones_and_print.py."""

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from apps.accounts.models import Patient
from apps.alerts.services import alert_acknowledge
from backend.models import AuditEvent
from tests.conftest import World
from tests.console.conftest import add_dxa_history, make_critical_denosumab_alert
from tests.factories import make_dose, make_schedule


def _summary(client: Client, patient: Patient) -> str:
    response = client.get(f"/console/patients/{patient.pk}/summary/")
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_summary_has_therapy_injections_adherence_t_scores_and_open_alerts(world: World, console_for) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    alert_acknowledge(alert=alert, actor=world.cora, note="Left a message.")
    add_dxa_history(world.ann)
    letrozole = make_schedule(world.ann, "letrozole", starts_on=timezone.localdate() - timedelta(days=400))
    for days_ago in range(0, 90):
        make_dose(world.ann, letrozole, taken_at=timezone.now() - timedelta(days=days_ago))
    page = _summary(console_for(world.cora), world.ann)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))

    assert "Ann Archer" in text and "Clinic visit summary" in text
    assert "Aromatase inhibitor: Letrozole" in text  # therapy
    assert "Denosumab 60 mg" in text
    injection = page.split('id="s-inj"')[1].split("</section>")[0]
    assert "Critical" in injection and "120 days overdue" in injection  # injections
    assert "(D5)" in injection  # the denosumab bands' rule id
    adherence = page.split('id="s-adh"')[1].split("</section>")[0]
    assert re.search(r'data-window="90">100\.0%', adherence)  # adherence, truncated as on the patient page
    t_scores = re.sub(r"<[^>]+>", " ", page.split('id="s-t"')[1].split("</section>")[0])
    lumbar = re.sub(r"\s+", " ", t_scores.split("Lumbar spine")[1])
    assert lumbar.startswith(" -2.4 Mar 2026 -2.1 Mar 2024 -0.3")  # latest, the scan before, the change
    assert t_scores.index("Lumbar spine") < t_scores.index("Femoral neck")  # the worst site first
    alerts = page.split('id="s-alerts"')[1]
    assert f'data-alert="{alert.pk}"' in alerts and "120 days overdue" in alerts and "acknowledged" in alerts
    assert "(D5)" in alerts  # clinical numbers name their rule id on staff pages

    for tag in ("<nav", "<button", "<form", "<input", "<textarea"):  # nothing to click or fill in
        assert tag not in page, tag
    assert 'class="site-header"' not in page


def test_the_patient_page_links_to_its_summary(world: World, console_for) -> None:
    page = console_for(world.phil).get(f"/console/patients/{world.ann.pk}/").content.decode()
    assert f'<a href="/console/patients/{world.ann.pk}/summary/">Print summary</a>' in page


def test_the_summary_is_scoped_and_audited_like_the_patient_page(world: World, console_for) -> None:
    _summary(console_for(world.phil), world.ann)
    event = AuditEvent.objects.get(patient_id=world.ann.pk)
    assert (event.actor, event.action, event.resource, event.object_id) == (
        world.phil,
        "read",
        "console_patient_summary",
        str(world.ann.pk),
    )
    response = console_for(world.zed).get(f"/console/patients/{world.ann.pk}/summary/")
    assert response.status_code == 404
    assert "Ann" not in response.content.decode()
    denied = AuditEvent.objects.get(action="denied")
    assert (denied.actor, denied.object_id) == (world.zed, str(world.ann.pk))
    assert console_for(world.cody).get(f"/console/patients/{world.ann.pk}/summary/").status_code == 404  # unassigned


def test_the_summary_states_her_ai_course_its_adherence_and_a_stop(world: World, console_for) -> None:
    """Issue 15: the printed page carries the planned course with years completed and remaining, the AI's own
    adherence, and a recorded stop with its reason."""
    from apps.profiles.models import PatientProfile

    started = timezone.localdate() - timedelta(days=400)
    PatientProfile.objects.filter(pk=world.ann.pk).update(ai_started_on=started, ai_planned_years=5)
    letrozole = make_schedule(world.ann, "letrozole", starts_on=started)
    for days_ago in range(0, 90):
        make_dose(world.ann, letrozole, taken_at=timezone.now() - timedelta(days=days_ago))
    client = console_for(world.cora)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _summary(client, world.ann)))
    assert "1.0 years completed, 4.0 remaining, T1" in text or "1.0 years completed, 3.9 remaining, T1" in text
    assert "adherence 90 days 100.0%" in text
    assert "stopped on" not in text

    PatientProfile.objects.filter(pk=world.ann.pk).update(
        ai_stopped_on=timezone.localdate() - timedelta(days=3), ai_stop_reason="side_effects"
    )
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _summary(client, world.ann)))
    assert f"stopped on {(timezone.localdate() - timedelta(days=3)):%-d %b %Y} (side effects)" in text
