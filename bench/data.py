"""Bulk-loaded rows for benchmarks: organisations of many patients, written with bulk_create, not factories.

Every user shares one password hash computed once (argon2 is slow on purpose).
"""

import random
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from functools import lru_cache

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from apps.accounts.models import CareTeamAssignment, Organisation, Patient, User
from apps.profiles.models import PatientProfile
from backend.roles import Role
from backend.text import search_key

PASSWORD = "Bench-sturdy-bones-2026"
BATCH_SIZE = 2_000
TIMEZONES = ("Europe/London", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
INHIBITORS = ("anastrozole", "letrozole", "exemestane")


@lru_cache(maxsize=1)
def password_hash() -> str:
    return make_password(PASSWORD)


@dataclass
class OrganisationRows:
    organisation: Organisation
    pharmacist: User
    coordinators: list[User]
    patients: list[Patient]


def _user(email: str, role: Role, organisation: Organisation, full_name: str) -> User:
    return User(
        email=email,
        full_name=full_name,
        role=role,
        organisation=organisation,
        password=password_hash(),
        search_name=search_key(f"{full_name} {email}"),  # bulk_create skips save(), which writes it otherwise
    )


def _profile(patient: Patient, rng: random.Random) -> PatientProfile:
    quiet = rng.random() < 0.3
    return PatientProfile(
        patient=patient,
        birth_date=date(rng.randint(1940, 1980), rng.randint(1, 12), rng.randint(1, 28)),
        timezone=rng.choice(TIMEZONES),
        aromatase_inhibitor=rng.choice(INHIBITORS),
        ai_started_on=date(rng.randint(2018, 2025), rng.randint(1, 12), 1),
        height_cm=Decimal(rng.randint(1500, 1800)) / 10,
        weight_kg=Decimal(rng.randint(450, 950)) / 10,
        smoker=rng.choice(("", "never", "former", "current")),
        family_hip_fracture=rng.random() < 0.1,
        prior_fragility_fracture=rng.random() < 0.05,
        oral_corticosteroids_months=rng.choice((0, 0, 0, 3, 12)),
        quiet_hours_start=time(22, 0) if quiet else None,
        quiet_hours_end=time(7, 0) if quiet else None,
    )


def populate_organisation(*, label: str, patients: int, per_coordinator: int = 50, seed: int = 0) -> OrganisationRows:
    """An organisation with `patients` patients (each with a profile), one pharmacist, and coordinators with
    `per_coordinator` patients each, assigned round-robin so each coordinator's patients are spread over the list."""
    rng = random.Random(f"{seed}-{label}")
    with transaction.atomic():
        organisation = Organisation.objects.create(name=f"Bench clinic {label}")
        slug = label.lower().replace(" ", "-")
        pharmacist = _user(f"pharmacist-{slug}@bench.example", Role.PHARMACIST, organisation, f"Pharmacist {label}")
        coordinators = [
            _user(f"coordinator-{slug}-{i}@bench.example", Role.COORDINATOR, organisation, f"Coordinator {label} {i}")
            for i in range(max(1, -(-patients // per_coordinator)))
        ]
        patient_users = [
            _user(f"patient-{slug}-{i}@bench.example", Role.PATIENT, organisation, f"Patient {label} {i}")
            for i in range(patients)
        ]
        User.objects.bulk_create([pharmacist, *coordinators, *patient_users], batch_size=BATCH_SIZE)
        rows = [Patient(user=user, organisation=organisation) for user in patient_users]
        Patient.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        PatientProfile.objects.bulk_create([_profile(p, rng) for p in rows], batch_size=BATCH_SIZE)
        CareTeamAssignment.objects.bulk_create(
            [CareTeamAssignment(patient=p, staff=coordinators[i % len(coordinators)]) for i, p in enumerate(rows)],
            batch_size=BATCH_SIZE,
        )
    return OrganisationRows(organisation, pharmacist, coordinators, rows)


def spread_enrolment_dates(*, days: int = 3 * 365, seed: float = 0.42) -> None:
    """Enrolment (created_at) spread over the past `days` days instead of the few seconds of a bulk load: the list
    is ordered by it, and real clinics enrol over years (auto_now_add leaves no other way than an UPDATE)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [seed])
        table = connection.ops.quote_name(Patient._meta.db_table)
        cursor.execute(f"UPDATE {table} SET created_at = now() - random() * make_interval(days => %s)", [days])
