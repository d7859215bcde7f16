"""Loads a demo organisation (a coordinator, a pharmacist, three patients with DXA results and labs) and prints
the logins. Idempotent: running it again changes nothing and prints the same logins."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import Organisation, User
from apps.accounts.services import care_team_assign, organisation_create, staff_create, user_create
from apps.profiles.services import bone_density_record, lab_record, patient_enrol
from backend.roles import Role

DEMO_PASSWORD = "BoneSync-demo-2026"
ORGANISATION = "Riverside Breast Clinic"

STAFF = [
    ("nina.coordinator@demo.bonesync.test", "Nina Okafor", Role.COORDINATOR),
    ("paul.pharmacist@demo.bonesync.test", "Paul Lindqvist", Role.PHARMACIST),
]

PATIENTS: list[dict[str, Any]] = [
    {
        "email": "margaret@demo.bonesync.test",
        "full_name": "Margaret Hughes",
        "birth_date": date(1957, 3, 14),
        "timezone": "Europe/London",
        "aromatase_inhibitor": "anastrozole",
        "ai_started_on": date(2024, 6, 3),
        "height_cm": Decimal("161.0"),
        "weight_kg": Decimal("52.0"),
        "smoker": "former",
        "prior_fragility_fracture": True,
        "dxa": [("lumbar_spine", "-2.3", date(2024, 5, 20)), ("femoral_neck", "-1.9", date(2024, 5, 20))],
        "labs": [("egfr", "58", "mL/min/1.73m2"), ("serum_calcium", "9.4", "mg/dL"), ("vitamin_d_25oh", "18", "ng/mL")],
    },
    {
        "email": "rosa@demo.bonesync.test",
        "full_name": "Rosa Martínez",
        "birth_date": date(1966, 9, 2),
        "timezone": "America/Los_Angeles",
        "aromatase_inhibitor": "letrozole",
        "ai_started_on": date(2025, 2, 10),
        "height_cm": Decimal("158.0"),
        "weight_kg": Decimal("66.5"),
        "smoker": "never",
        "dxa": [("lumbar_spine", "-1.1", date(2025, 1, 28)), ("total_hip", "-0.8", date(2025, 1, 28))],
        "labs": [("egfr", "91", "mL/min/1.73m2"), ("vitamin_d_25oh", "31", "ng/mL")],
    },
    {
        "email": "aroha@demo.bonesync.test",
        "full_name": "Aroha Ngata",
        "birth_date": date(1959, 11, 23),
        "timezone": "Pacific/Auckland",
        "aromatase_inhibitor": "exemestane",
        "ai_started_on": date(2023, 8, 15),
        "height_cm": Decimal("167.0"),
        "weight_kg": Decimal("71.0"),
        "smoker": "current",
        "oral_corticosteroids_months": 9,
        "dxa": [("femoral_neck", "-1.7", date(2023, 8, 1)), ("total_hip", "-1.4", date(2023, 8, 1))],
        "labs": [("crcl", "44", "mL/min"), ("serum_calcium", "2.35", "mmol/L")],
    },
]


class Command(BaseCommand):
    help = "Load the demo organisation and print its logins (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            self._seed()
        self.stdout.write(self.style.SUCCESS(f"Demo organisation: {ORGANISATION}"))
        self.stdout.write(f"All demo logins use the password: {DEMO_PASSWORD}")
        for email, name, role in STAFF:
            self.stdout.write(f"  {role:<12} {email:<42} {name}")
        for spec in PATIENTS:
            self.stdout.write(f"  {'patient':<12} {spec['email']:<42} {spec['full_name']}")
        self.stdout.write(f"  {'admin':<12} {'admin@demo.bonesync.test':<42} (Django admin at /admin/)")

    def _seed(self) -> None:
        if not User.objects.filter(email="admin@demo.bonesync.test").exists():
            user_create(email="admin@demo.bonesync.test", password=DEMO_PASSWORD, role=Role.ADMIN, organisation=None)
            User.objects.filter(email="admin@demo.bonesync.test").update(is_staff=True, is_superuser=True)
        organisation = Organisation.objects.filter(name=ORGANISATION).first() or organisation_create(name=ORGANISATION)
        staff = {}
        for email, name, role in STAFF:
            existing = User.objects.filter(email=email).first()
            staff[role] = existing or staff_create(
                email=email, password=DEMO_PASSWORD, role=role, organisation=organisation, full_name=name
            )
        coordinator, pharmacist = staff[Role.COORDINATOR], staff[Role.PHARMACIST]
        for spec in PATIENTS:
            if User.objects.filter(email=spec["email"]).exists():
                continue
            fields = {k: v for k, v in spec.items() if k not in {"dxa", "labs"}}
            patient = patient_enrol(actor=coordinator, organisation=organisation, password=DEMO_PASSWORD, **fields)
            care_team_assign(actor=coordinator, patient=patient, staff=pharmacist)
            for site, t_score, measured_on in spec["dxa"]:
                bone_density_record(
                    actor=coordinator, patient=patient, site=site, t_score=Decimal(t_score), measured_on=measured_on
                )
            for kind, value, unit in spec["labs"]:
                lab_record(
                    actor=pharmacist,
                    patient=patient,
                    kind=kind,
                    value=Decimal(value),
                    unit=unit,
                    measured_on=date(2025, 11, 3),
                )
