"""Run with `manage.py shell` against the live contract database (seeded with `seed_demo`): prints, as JSON, an
access token per role and the ids the contract run puts into path parameters, so generated requests reach the code
behind the scope checks instead of answering 404 for random ids."""

import json
from datetime import time
from decimal import Decimal

from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import User
from apps.alerts.models import Alert
from apps.exercise.models import ExercisePlan
from apps.medications.models import DoseRecord, Schedule
from apps.supplements.models import SupplementPlan
from apps.supplements.services import supplement_plan_create

margaret = User.objects.get(email="margaret@demo.bonesync.test")
nina = User.objects.get(email="nina.coordinator@demo.bonesync.test")
patient = margaret.patient
schedule = Schedule.objects.filter(patient=patient).order_by("created_at").first()
dose = DoseRecord.objects.filter(schedule__patient=patient).order_by("created_at").first()
supplement_plan = SupplementPlan.objects.filter(patient=patient).order_by("created_at").first()
if supplement_plan is None:  # the demo gives her none; the plan endpoints need one to reach more than a 404
    supplement_plan = supplement_plan_create(
        actor=nina, patient=patient, supplement="vitamin_d3", amount=Decimal("1000"), unit="IU", times_of_day=[time(8)]
    )
exercise_plan = ExercisePlan.objects.filter(patient=patient).order_by("created_at").first()
alert = Alert.objects.filter(patient=patient).order_by("created_at").first()


def token(user: User) -> str:
    return str(RefreshToken.for_user(user).access_token)


print(
    json.dumps(
        {
            "tokens": {"patient": token(margaret), "coordinator": token(nina)},
            "ids": {
                "patient_id": str(patient.pk),
                "schedule_id": str(schedule.pk) if schedule else "",
                "dose_id": str(dose.pk) if dose else "",
                "supplement_plan_id": str(supplement_plan.pk) if supplement_plan else "",
                "exercise_plan_id": str(exercise_plan.pk) if exercise_plan else "",
                "alert_id": str(alert.pk) if alert else "",
            },
        }
    )
)
