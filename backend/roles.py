from django.db import models


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    COORDINATOR = "coordinator", "Care coordinator"
    PHARMACIST = "pharmacist", "Pharmacist"
    ADMIN = "admin", "Administrator"


STAFF_ROLES = frozenset({Role.COORDINATOR, Role.PHARMACIST})
