from django.db import models


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    COORDINATOR = "coordinator", "Care coordinator"
    PHARMACIST = "pharmacist", "Pharmacist"
    ADMIN = "admin", "Administrator"


STAFF_ROLES = frozenset({Role.COORDINATOR, Role.PHARMACIST})

# A backend system calling the FHIR API (SMART Backend Services, apps/fhir): not a Role choice, since no User has
# it; backend.access scopes it like a pharmacist (its organisation's patients, read-only).
SYSTEM = "system"
