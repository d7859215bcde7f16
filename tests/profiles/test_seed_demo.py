"""The demo organisation the run command loads: believable, idempotent, and its printed logins work."""

from django.core.management import call_command
from rest_framework.test import APIClient

from apps.accounts.models import CareTeamAssignment, Patient, User
from apps.profiles.management.commands.seed_demo import DEMO_PASSWORD
from apps.profiles.models import BoneDensityResult, LabResult


def test_seed_demo_is_idempotent_and_its_logins_work(db: None, capsys) -> None:
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = [m.objects.count() for m in (User, Patient, CareTeamAssignment, BoneDensityResult, LabResult)]
    assert counts[:2] == [6, 3]  # admin, coordinator, pharmacist, three patients
    assert all(counts)
    call_command("seed_demo")
    assert capsys.readouterr().out == first
    assert [m.objects.count() for m in (User, Patient, CareTeamAssignment, BoneDensityResult, LabResult)] == counts

    client = APIClient()
    emails = [line.split()[1] for line in first.splitlines() if "@demo.bonesync.test" in line]
    assert len(emails) == 6
    for email in emails:
        response = client.post("/api/v1/auth/token/", {"email": email, "password": DEMO_PASSWORD}, format="json")
        assert response.status_code == 200, email

    coordinator = User.objects.get(role="coordinator")
    client.force_authenticate(coordinator)
    patients = client.get("/api/v1/patients/").json()["results"]
    assert len(patients) == 3
    verdicts = {
        p["full_name"]: client.get(f"/api/v1/patients/{p['id']}/bone-health/").json()["therapy_recommended"]
        for p in patients
    }
    # One clearly needs treatment (T -2.3, fracture), one clearly not yet (T -1.1, no risk factors).
    assert verdicts["Margaret Hughes"] is True
    assert verdicts["Rosa Martínez"] is False
    # Something to act on in the demo: Margaret's denosumab is late, so the coordinator has a rebound-risk alert.
    alerts = client.get("/api/v1/alerts/").json()["results"]
    assert [(a["patient_name"], a["kind"], a["severity"]) for a in alerts] == [
        ("Margaret Hughes", "denosumab_late", "high")
    ]
