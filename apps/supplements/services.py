"""Writes for supplement plans, supplement intakes and dietary calcium. Keyword-only, validated, atomic.

Intakes and diet entries carry client-generated ids: re-posting one returns the stored row unchanged (phones retry),
exactly like dose records. Writers of one patient are serialised on her row, so a retry racing its original sees it.
"""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import Patient, User
from apps.medications.services import review_recheck
from apps.medications.stock import counts_against, stock_doses_taken, stock_project
from apps.supplements import rules
from apps.supplements.foods import FOODS, calcium_estimate
from apps.supplements.models import DietaryCalciumEntry, PlanStatus, SupplementIntake, SupplementPlan
from backend import clock
from backend.client_ids import insert_new_in_bulk, insert_or_replay, replayed, stated_body
from backend.events import PlanChanged, publish
from backend.roles import Role
from backend.updates import apply_changes, refuse_unknown

CLOCK_SKEW = timedelta(minutes=5)  # a phone clock a little ahead is not "the future"
MAX_RECORD_AGE = timedelta(days=400)  # older records are history imports: refuse them here (as for doses)
MAX_TIMES_OF_DAY = 8  # design: more reminders a day than anyone takes supplements
MAX_SERVINGS = Decimal("20")  # design
PLAN_FIELDS = ("amount", "unit", "times_of_day", "daily_target", "status", "starts_on", "ends_on")
# Who may set a plan's daily target (DOMAIN C1/C3/C4: a clinician's decision, not the patient's).
TARGET_SETTERS = frozenset({Role.COORDINATOR, Role.PHARMACIST, Role.ADMIN})

Errors = dict[str, list[str]]


def _local_today(patient: Patient) -> date:
    return clock.local_today(patient.profile.timezone)


def _hhmm(value: time) -> str:
    return f"{value:%H:%M}"


def _times_errors(times_of_day: Sequence[time]) -> list[str]:
    if len(times_of_day) > MAX_TIMES_OF_DAY:
        return [f"At most {MAX_TIMES_OF_DAY} times a day."]
    if any(t.second or t.microsecond for t in times_of_day):
        return ["Whole minutes only (HH:MM)."]
    if len({_hhmm(t) for t in times_of_day}) != len(times_of_day):
        return ["Each time only once."]
    return []


def _validate_plan(plan: SupplementPlan, errors: Errors) -> None:
    unit_problems = rules.unit_errors(plan.supplement, plan.unit)
    if unit_problems:
        errors.setdefault("unit", []).extend(unit_problems)
    else:
        errors.setdefault("amount", []).extend(rules.amount_errors(plan.supplement, plan.amount, plan.unit))
    if plan.daily_target is not None:
        errors.setdefault("daily_target", []).extend(rules.daily_target_errors(plan.supplement, plan.daily_target))
    if plan.ends_on is not None and plan.ends_on < plan.starts_on:
        errors.setdefault("ends_on", []).append("The end date is before the start date.")
    if plan.starts_on > _local_today(plan.patient) + timedelta(days=366):
        errors.setdefault("starts_on", []).append("Starts more than a year ahead.")
    if plan.starts_on < plan.patient.profile.birth_date:  # as a schedule: no plan starts before she was born
        errors.setdefault("starts_on", []).append("Starts before the patient was born.")
    errors = {name: messages for name, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)


def _refuse_target(actor: User, errors: Errors) -> None:
    if actor.role not in TARGET_SETTERS:
        errors.setdefault("daily_target", []).append("Only your care team can set a daily target.")


@transaction.atomic
def supplement_plan_create(
    *,
    actor: User,
    patient: Patient,
    supplement: str,
    amount: Decimal,
    unit: str,
    times_of_day: Sequence[time] = (),
    starts_on: date | None = None,
    ends_on: date | None = None,
    daily_target: Decimal | None = None,
) -> SupplementPlan:
    """A plan made by the care team or by the patient herself (she may not set its daily target)."""
    errors: Errors = {}
    if daily_target is not None:
        _refuse_target(actor, errors)
    if rules.NUTRIENT_OF.get(supplement) is None:
        raise ValidationError({"supplement": [f"Unknown supplement {supplement!r}."]})
    times_problems = _times_errors(times_of_day)
    if times_problems:
        errors["times_of_day"] = times_problems
    plan = SupplementPlan(
        patient=patient,
        supplement=supplement,
        amount=amount,
        unit=unit,
        times_of_day=sorted(_hhmm(t) for t in times_of_day),
        daily_target=daily_target,
        starts_on=starts_on or _local_today(patient),
        ends_on=ends_on,
        created_by=actor,
    )
    _validate_plan(plan, errors)
    plan.save()
    # DOMAIN A2/D6: a plan's times and nutrients are part of her verified schedules' findings.
    review_recheck(patient_id=plan.patient_id)
    publish(PlanChanged(patient_id=plan.patient_id, plan_id=plan.pk, plan_kind="supplement"))
    return plan


@transaction.atomic
def supplement_plan_update(*, actor: User, plan: SupplementPlan, **changes: Any) -> SupplementPlan:
    refuse_unknown(changes, PLAN_FIELDS)
    plan = SupplementPlan.objects.select_for_update(of=("self",)).select_related("patient__profile").get(pk=plan.pk)
    if plan.status == PlanStatus.STOPPED:
        raise ValidationError({"status": ["A stopped plan cannot change; create a new one."]})
    errors: Errors = {}
    if "times_of_day" in changes:
        times_problems = _times_errors(changes["times_of_day"])
        if times_problems:
            errors["times_of_day"] = times_problems
        changes["times_of_day"] = sorted({_hhmm(t) for t in changes["times_of_day"]})
    changed = apply_changes(plan, changes)
    if "daily_target" in changed:
        _refuse_target(actor, errors)
    if not changed and not errors:
        return plan
    if "status" in changed and plan.status == PlanStatus.STOPPED:
        plan.stopped_on = _local_today(plan.patient)
    _validate_plan(plan, errors)
    plan.save()
    stock_project(plan)  # issue 17: stopped, or taken at other times: its supply lasts to another date
    # DOMAIN A2/D6: a plan's times and nutrients are part of her verified schedules' findings.
    review_recheck(patient_id=plan.patient_id)
    publish(PlanChanged(patient_id=plan.patient_id, plan_id=plan.pk, plan_kind="supplement"))
    return plan


# --- intakes and diet entries ------------------------------------------------------------------------------------


def _lock_patient(patient: Patient) -> Patient:
    """One writer per patient at a time: a retry racing its original waits for it, then finds it."""
    return Patient.objects.select_for_update(of=("self",)).select_related("profile").get(pk=patient.pk)


def _taken_at_errors(taken_at: datetime) -> list[str]:
    now = clock.now()
    if taken_at > now + CLOCK_SKEW:
        return ["Cannot be in the future."]
    if taken_at < now - MAX_RECORD_AGE:
        return ["More than 400 days ago: ask the care team to import old records."]
    return []


@dataclass(frozen=True)
class IntakeOutcome:
    intake: SupplementIntake
    created: bool


@transaction.atomic
def supplement_intake_record(
    *,
    actor: User,
    patient: Patient,
    id: uuid.UUID,
    taken_at: datetime,
    supplement: str | None = None,
    amount: Decimal | None = None,
    unit: str | None = None,
    plan: SupplementPlan | None = None,
    note: str = "",
    stated: Collection[str] | None = None,
) -> IntakeOutcome:
    """Record a supplement taken. With a plan, supplement/amount/unit default to the plan's.
    Re-posting the same id with the same values returns the stored record unchanged; with other values in what the
    client stated (`stated`; None: all) it is a ConflictError naming them."""
    patient = _lock_patient(patient)
    body = stated_body(
        {
            "plan": ("plan_id", plan.pk if plan is not None else None),
            "supplement": ("supplement", supplement),
            "amount": ("amount", amount),
            "unit": ("unit", unit),
            "taken_at": ("taken_at", taken_at),
            "note": ("note", note),
        },
        stated,
    )
    existing = replayed(SupplementIntake, id, body=body, patient_id=patient.pk)
    if existing is not None:
        return IntakeOutcome(existing, created=False)
    intake = _new_intake(
        actor=actor,
        patient=patient,
        id=id,
        taken_at=taken_at,
        supplement=supplement,
        amount=amount,
        unit=unit,
        plan=plan,
        note=note,
    )
    row, created = insert_or_replay(intake, body=body, patient_id=patient.pk)
    if created and plan is not None:
        _take_from_stock({plan.pk: [row.taken_at]})
    return IntakeOutcome(row, created=created)


def _take_from_stock(intakes_by_plan: dict[uuid.UUID, list[datetime]]) -> None:
    """Issue 17: each intake recorded with a plan (its taken_at listed) takes its units off the plan's stock, in the
    intake's transaction (a replayed intake writes nothing and takes nothing), unless she counted after taking it.
    The plans are locked in id order: never a deadlock."""
    tracked = SupplementPlan.objects.filter(pk__in=intakes_by_plan, stock_on_hand__isnull=False)
    for plan in tracked.select_for_update(of=("self",)).select_related("patient__profile").order_by("pk"):
        stock_doses_taken(plan, sum(counts_against(plan, at) for at in intakes_by_plan[plan.pk]))


def _new_intake(
    *,
    actor: User,
    patient: Patient,
    id: uuid.UUID,
    taken_at: datetime,
    supplement: str | None,
    amount: Decimal | None,
    unit: str | None,
    plan: SupplementPlan | None,
    note: str,
) -> SupplementIntake:
    """A new intake checked by the rules (ValidationError naming what is wrong), not saved yet."""
    errors: Errors = {}
    if plan is not None:
        if plan.patient_id != patient.pk:
            raise ValidationError({"plan": ["No such supplement plan for this patient."]})
        if supplement is not None and supplement != plan.supplement:
            errors["supplement"] = [f"This plan is for {plan.get_supplement_display().lower()}."]
        supplement = supplement or plan.supplement
        if amount is None and unit is None:
            amount, unit = plan.amount, plan.unit
    for name, value in (("supplement", supplement), ("amount", amount), ("unit", unit)):
        if value is None:
            errors.setdefault(name, []).append("This field is required (or give a plan).")
    if supplement is not None and rules.NUTRIENT_OF.get(supplement) is None:
        errors.setdefault("supplement", []).append(f"Unknown supplement {supplement!r}.")
    if not errors and supplement is not None and amount is not None and unit is not None:
        unit_problems = rules.unit_errors(supplement, unit)
        if unit_problems:
            errors["unit"] = unit_problems
        else:
            amount_problems = rules.amount_errors(supplement, amount, unit)
            if amount_problems:
                errors["amount"] = amount_problems
    taken_problems = _taken_at_errors(taken_at)
    if taken_problems:
        errors["taken_at"] = taken_problems
    if errors:
        raise ValidationError(errors)
    assert supplement is not None and amount is not None and unit is not None  # required above
    intake = SupplementIntake(
        id=id,
        patient=patient,
        plan=plan,
        supplement=supplement,
        amount=amount,
        unit=unit,
        taken_at=taken_at,
        taken_on=clock.local_today(patient.profile.timezone, taken_at),
        note=note,
        recorded_by=actor,
    )
    # Its one check constraint (amount > 0) is amount_errors' first rule, above: validating it again would cost a
    # query (in a savepoint) an intake, 3,150 statements in a push's backlog. The database still enforces it.
    intake.full_clean(exclude=["patient", "plan", "recorded_by"], validate_unique=False, validate_constraints=False)
    return intake


@dataclass(frozen=True)
class NewIntake:
    id: uuid.UUID
    taken_at: datetime
    supplement: str | None = None
    amount: Decimal | None = None
    unit: str | None = None
    plan: SupplementPlan | None = None
    note: str = ""


@transaction.atomic
def supplement_intakes_record_new(
    *, actor: User, patient: Patient, intakes: list[NewIntake]
) -> tuple[set[uuid.UUID], dict[uuid.UUID, ValidationError]]:
    """Many intakes at once (a sync push's backlog), by supplement_intake_record's rules: the valid ones inserted in
    one statement. Returns (inserted ids, refused ids with why). Ids already recorded (by anyone), or all of them when
    another request inserts one meanwhile, are neither: the caller records those one by one with
    supplement_intake_record (replay, conflict or refusal as usual)."""
    patient = _lock_patient(patient)
    inserted, refused = insert_new_in_bulk(
        SupplementIntake,
        intakes,
        lambda item: _new_intake(
            actor=actor,
            patient=patient,
            id=item.id,
            taken_at=item.taken_at,
            supplement=item.supplement,
            amount=item.amount,
            unit=item.unit,
            plan=item.plan,
            note=item.note,
        ),
    )
    by_plan: dict[uuid.UUID, list[datetime]] = {}
    for item in intakes:
        if item.id in inserted and item.plan is not None:
            by_plan.setdefault(item.plan.pk, []).append(item.taken_at)
    if by_plan:
        _take_from_stock(by_plan)
    return inserted, refused


@dataclass(frozen=True)
class DietOutcome:
    entry: DietaryCalciumEntry
    created: bool


@transaction.atomic
def dietary_calcium_record(
    *,
    actor: User,
    patient: Patient,
    id: uuid.UUID,
    date: date,
    mg: Decimal | None = None,
    food: str = "",
    servings: Decimal | None = None,
    note: str = "",
    stated: Collection[str] | None = None,
) -> DietOutcome:
    """Calcium from food on a local day: `mg`, or `food` (+ `servings`, default 1) estimated from the foods table.
    Re-posting the same id with the same values returns the stored entry unchanged; with other values in what the
    client stated (`stated`; None: all) it is a ConflictError naming them."""
    patient = _lock_patient(patient)
    body = stated_body(
        {
            "date": ("date", date),
            "mg": ("mg", mg),
            "food": ("food", food),
            "servings": ("servings", servings),
            "note": ("note", note),
        },
        stated,
    )
    existing = replayed(DietaryCalciumEntry, id, body=body, patient_id=patient.pk)
    if existing is not None:
        return DietOutcome(existing, created=False)
    errors: Errors = {}
    if food:
        if mg is not None:
            errors["mg"] = ["Give either mg or a food with servings, not both."]
        elif food not in FOODS:
            errors["food"] = [f"Unknown food {food!r}."]
        else:
            servings = Decimal(1) if servings is None else servings
            if servings <= 0 or servings > MAX_SERVINGS:
                errors["servings"] = [f"Must be more than 0 and at most {MAX_SERVINGS}."]
            else:
                mg = calcium_estimate(food, servings)
                if mg > rules.NUTRITION_THRESHOLDS.max_diet_mg_per_entry:
                    errors["servings"] = ["That is more calcium than one entry can hold: check the servings."]
    elif servings is not None:
        errors["servings"] = ["Servings need a food."]
    elif mg is None:
        errors["mg"] = ["Give mg, or a food with servings."]
    elif mg <= 0:
        errors["mg"] = ["Must be more than 0."]
    elif mg > rules.NUTRITION_THRESHOLDS.max_diet_mg_per_entry:
        errors["mg"] = [f"More than {rules.NUTRITION_THRESHOLDS.max_diet_mg_per_entry:f} mg in one entry: check it."]
    today = _local_today(patient)
    if date > today:
        errors["date"] = ["Cannot be in the future."]
    elif date < today - MAX_RECORD_AGE:
        errors["date"] = ["More than 400 days ago."]
    if errors:
        raise ValidationError(errors)
    assert mg is not None  # given or estimated above
    entry = DietaryCalciumEntry(
        id=id,
        patient=patient,
        date=date,
        mg=mg,
        food=food,
        servings=servings if food else None,
        note=note,
        recorded_by=actor,
    )
    entry.full_clean(exclude=["patient", "recorded_by"], validate_unique=False)
    row, created = insert_or_replay(entry, body=body, patient_id=patient.pk)
    return DietOutcome(row, created=created)
