"""The demo organisation the run command loads: believable, idempotent, and its printed logins work."""

from django.core.management import call_command
from rest_framework.test import APIClient

from apps.accounts.models import CareTeamAssignment, Patient, User
from apps.demo.management.commands.seed_demo import DEMO_PASSWORD
from apps.profiles.models import BoneDensityResult, LabResult


def test_seed_demo_is_idempotent_and_its_logins_work(db: None, capsys) -> None:
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = [m.objects.count() for m in (User, Patient, CareTeamAssignment, BoneDensityResult, LabResult)]
    assert counts[:2] == [7, 4]  # admin, coordinator, pharmacist, three patients, and Lena (invited, issue 17)
    assert all(counts)
    call_command("seed_demo")
    assert capsys.readouterr().out == first
    assert [m.objects.count() for m in (User, Patient, CareTeamAssignment, BoneDensityResult, LabResult)] == counts

    client = APIClient()
    logins = [line for line in first.splitlines() if "@demo.bonesync.test" in line and not line.startswith("Invited")]
    emails = [line.split()[1] for line in logins]
    assert len(emails) == 6
    for email in emails:
        response = client.post("/api/v1/auth/token/", {"email": email, "password": DEMO_PASSWORD}, format="json")
        assert response.status_code == 200, email

    coordinator = User.objects.get(role="coordinator")
    client.force_authenticate(coordinator)
    patients = client.get("/api/v1/patients/").json()["results"]
    assert len(patients) == 4
    [lena] = [p for p in patients if p["email"] == "lena@demo.bonesync.test"]
    assert client.get(f"/api/v1/patients/{lena['id']}/").json()["invitation"]["state"] == "pending"
    patients = [p for p in patients if p is not lena]
    assessments = {p["full_name"]: client.get(f"/api/v1/patients/{p['id']}/bone-health/").json() for p in patients}
    # All three are on bone-directed therapy (denosumab, alendronate, zoledronic acid): none is told to start it.
    # Margaret's H2 reasons (T -2.3, fracture) still show why she needs it.
    assert {name: (a["on_therapy"], a["therapy_recommended"]) for name, a in assessments.items()} == {
        "Margaret Hughes": (True, False),
        "Rosa Martínez": (True, False),
        "Aroha Ngata": (True, False),
    }
    margaret = assessments["Margaret Hughes"]
    assert [t["medication_code"] for t in margaret["current_therapy"]] == ["denosumab"]
    assert "t_score_below_threshold" in [r["code"] for r in margaret["reasons"]]
    # Something to act on in the demo: Margaret's denosumab is late, so the coordinator has a rebound-risk alert.
    alerts = client.get("/api/v1/alerts/").json()["results"]
    # And the pharmacist's pending request for changes on Rosa's alendronate (issue 14), and her rising joint pain
    # whose last check-in says it made her miss her aromatase inhibitor (issue 15, DOMAIN J3: high).
    assert [(a["patient_name"], a["kind"], a["severity"]) for a in alerts] == [
        ("Margaret Hughes", "denosumab_late", "high"),
        ("Rosa Martínez", "joint_pain", "high"),
        ("Rosa Martínez", "review_changes_requested", "normal"),
    ]
    # Issue 14: a contact history on it (two tries, a call back due today) and phone numbers for every patient.
    contacts = client.get(f"/api/v1/alerts/{alerts[0]['id']}/contacts/").json()["results"]
    assert [(c["channel"], c["outcome"]) for c in contacts] == [("sms", "left_message"), ("phone", "no_answer")]
    assert alerts[0]["last_contact"]["outcome"] == "left_message" and alerts[0]["waiting"] is False
    assert all(p["phone"].startswith("+") for p in patients)
    assert [a["patient_name"] for a in client.get("/api/v1/alerts/", {"q": "hughes"}).json()["results"]] == [
        "Margaret Hughes"
    ]
    [request] = [a for a in alerts if a["kind"] == "review_changes_requested"]
    history = client.get(f"/api/v1/reviews/{request['schedule']}/history/").json()
    assert [(d["decision"], d["reviewer_name"]) for d in history] == [("request_changes", "Paul Lindqvist")]


def test_the_demo_invites_lena_once_with_a_working_code(db: None, capsys) -> None:
    """Issue 17: she has no password; the first seed emails her invitation (link and code), a second run does not."""
    from django.core import mail

    from tests.accounts.test_own_account import secrets_of

    call_command("seed_demo")
    call_command("seed_demo")
    assert [m.to for m in mail.outbox] == [["lena@demo.bonesync.test"]]
    lena = User.objects.get(email="lena@demo.bonesync.test")
    assert not lena.has_usable_password()
    _, code = secrets_of(mail.outbox[0])
    response = APIClient().post(
        "/api/v1/auth/invitation/accept/",
        {"email": lena.email, "code": code, "new_password": "Lena-chooses-2026"},
        format="json",
    )
    assert response.status_code == 200, response.content


def test_the_demo_has_a_booked_injection_on_margarets_timeline(db: None, capsys) -> None:
    from apps.appointments.models import Appointment

    call_command("seed_demo")
    call_command("seed_demo")  # idempotent: still one
    (appointment,) = Appointment.objects.all()
    assert (appointment.patient.user.full_name, appointment.kind, appointment.status) == (
        "Margaret Hughes",
        "injection",
        "booked",
    )
    assert appointment.schedule is not None and appointment.schedule.medication.code == "denosumab"
    client = APIClient()
    client.force_authenticate(User.objects.get(role="coordinator"))
    rows = client.get(f"/api/v1/patients/{appointment.patient_id}/appointments/").json()["results"]
    assert rows[0]["readiness"]["ready"] is False  # her serum calcium is older than the window: shown, not blocking
