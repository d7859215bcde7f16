"""Stock and refills (issue 17): units on hand of a self-taken medicine's schedule or of a supplement plan.

The one writer of the stock columns (`models.StockTracked`). A dose taken takes `units_per_dose` off, never below 0
(doses recorded with nothing left on hand keep it at 0: the count was wrong, and her next count or refill puts it
right); a dose undone (taken -> skipped) puts them back; a refill adds packs or units; a count sets it. Every write
runs under the item's row lock in the caller's transaction (the dose writers hold it already), so a dose replayed by
a retrying phone, which writes nothing, takes nothing off, and two writers never lose one another's change.

After each write the supply is projected (rules.stock) and the refill need's date stored; when it opens, moves or
closes, StockChanged is published and her refill reminders follow (apps.medications.refill_reminders).

The stocked kinds are registered (`register_stock_kind`): schedules here, supplement plans by their app.
"""

import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext

from apps.accounts.models import User
from apps.medications.models import (
    AdministeredBy,
    DoseRecord,
    DoseStatus,
    Schedule,
    ScheduleStatus,
    StockItemKind,
    StockRefill,
    StockTracked,
)
from apps.medications.rules import stock as rules
from apps.medications.selectors import recurrence_of
from backend import clock
from backend.client_ids import insert_or_replay, replayed, stated_body
from backend.events import StockChanged, publish
from backend.recurrence import local_dates
from backend.updates import refuse_unknown

S = TypeVar("S", bound=StockTracked)
STOCK_FIELDS = ("stock_on_hand", "pack_size", "units_per_dose", "refill_warning_days")
STORED = ("stock_on_hand", "stock_counted_at", "supply_last_on", "refill_due_on")
FAR_DAYS = 100 * 366  # the doses ahead are generated lazily: only as many as the stock covers are read


@dataclass(frozen=True)
class StockKind:
    """How to project one stocked model: its doses ahead from her today (today's already taken left out), whether it
    is in force (no refill is needed for a paused or stopped one), and why it cannot hold stock ("" when it can)."""

    model: type[StockTracked]
    item_kind: str  # StockItemKind: how a refill names it
    doses_ahead: Callable[[Any, date], Iterator[date]]
    in_force: Callable[[Any], bool]
    refused: Callable[[Any], str]
    timezone: Callable[[Any], str]
    # For the refill reminders (apps.medications.refill_reminders): the rows in force that may hold stock, and the
    # push texts (DESIGN privacy: the generic one names nothing; the detailed one only with her opt-in).
    in_force_rows: Callable[[], QuerySet[Any]]
    text_generic: Callable[[], str]
    text_detailed: Callable[[Any], str]


_kinds: dict[type[StockTracked], StockKind] = {}


def register_stock_kind(kind: StockKind) -> None:
    _kinds[kind.model] = kind


def stock_kinds() -> list[StockKind]:
    return list(_kinds.values())


# --- medication schedules ------------------------------------------------------------------------------------------
def _schedule_doses_ahead(schedule: Schedule, today: date) -> Iterator[date]:
    dates = local_dates(
        recurrence_of(schedule),
        starts_on=schedule.starts_on,
        ends_on=schedule.ends_on,
        first=today,
        last=today + timedelta(days=FAR_DAYS),
    )
    first = next(dates, None)
    if first is None:
        return
    taken_today = (
        first == today
        and DoseRecord.objects.filter(schedule_id=schedule.pk, status=DoseStatus.TAKEN, taken_on=today).exists()
    )
    if not taken_today:
        yield first
    yield from dates


def _schedule_refused(schedule: Schedule) -> str:
    if schedule.medication.administered_by == AdministeredBy.CLINIC:
        return "Given at the clinic: it has no stock at home to track."
    return ""


register_stock_kind(
    StockKind(
        model=Schedule,
        item_kind=StockItemKind.SCHEDULE,
        doses_ahead=_schedule_doses_ahead,
        in_force=lambda s: s.status == ScheduleStatus.ACTIVE,
        refused=_schedule_refused,
        timezone=lambda s: s.patient.profile.timezone,
        in_force_rows=lambda: (
            Schedule.objects.filter(status=ScheduleStatus.ACTIVE)
            .exclude(medication__administered_by=AdministeredBy.CLINIC)
            .select_related("medication", "patient__profile")
        ),
        text_generic=lambda: gettext("Time to refill your medicine"),
        text_detailed=lambda s: gettext("Time to refill your %(name)s") % {"name": s.medication.name.lower()},
    )
)


# --- the writes ----------------------------------------------------------------------------------------------------
def _kind(item: StockTracked) -> StockKind:
    return _kinds[type(item)]


def _project(item: StockTracked, *, recount: bool) -> None:
    """Set the item's projected supply and refill need from its stock (in memory)."""
    kind = _kind(item)
    today = clock.local_today(kind.timezone(item))
    if item.stock_on_hand is None or not kind.in_force(item):
        item.supply_last_on, item.refill_due_on = None, None
        return
    supply = rules.supply(
        units=item.stock_on_hand,
        units_per_dose=item.units_per_dose,
        doses=kind.doses_ahead(item, today),
        warning_days=item.refill_warning_days,
        today=today,
    )
    item.supply_last_on = supply.last_dose_on
    item.refill_due_on = rules.refill_anchor(
        previous=item.refill_due_on, projected=supply.refill_due_on, today=today, recount=recount
    )


def _store(item: StockTracked, previous_due: date | None, *, updated_at: bool = False) -> None:
    fields = [*STORED, *(STOCK_FIELDS if updated_at else ()), *(("updated_at",) if updated_at else ())]
    if updated_at:
        setattr(item, "updated_at", clock.now())  # noqa: B010 - every stocked model has it (BaseModel)
    type(item)._default_manager.filter(pk=item.pk).update(**{name: getattr(item, name) for name in fields})
    if item.refill_due_on != previous_due:
        publish(StockChanged(patient_id=item.patient_id, item_id=item.pk))  # type: ignore[attr-defined]


def counts_against(item: StockTracked, taken_at: datetime) -> bool:
    """Does a dose taken at `taken_at` come off the stock on record? Not when she counted after taking it: the count
    already left it out (an offline phone pushes the morning's doses after her count; review)."""
    return item.stock_counted_at is None or taken_at >= item.stock_counted_at


def stock_doses_taken(item: StockTracked, count: int) -> None:
    """`count` doses were taken on this item (negative: undone). Call inside the transaction that wrote them, with
    the item's row locked and read in it. Untracked stock: nothing to do."""
    if item.stock_on_hand is None or count == 0:
        return
    previous_due = item.refill_due_on
    moved = item.stock_on_hand - count * item.units_per_dose
    item.stock_on_hand = min(max(moved, 0), rules.MAX_STOCK)  # never below 0 (a wrong count), never above the limit
    _project(item, recount=False)
    _store(item, previous_due)


def stock_project(item: StockTracked) -> None:
    """The item's plan changed (paused, resumed, moved): project its supply again. Row locked by the caller."""
    if item.stock_on_hand is None and item.refill_due_on is None:
        return
    previous_due = item.refill_due_on
    _project(item, recount=True)
    _store(item, previous_due)


def _locked(item: S) -> S:
    return type(item)._default_manager.select_for_update(of=("self",)).get(pk=item.pk)


def _check(item: StockTracked) -> None:
    reason = _kind(item).refused(item)
    if reason:
        raise ValidationError({"stock_on_hand": [reason]})


def _limits(item: StockTracked) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    limits = (
        ("stock_on_hand", 0, rules.MAX_STOCK),
        ("pack_size", 1, rules.MAX_PACK_SIZE),
        ("units_per_dose", 1, rules.MAX_UNITS_PER_DOSE),
        ("refill_warning_days", 1, rules.MAX_WARNING_DAYS),
    )
    for name, low, high in limits:
        value = getattr(item, name)
        if value is not None and not low <= value <= high:
            errors[name] = [f"Must be between {low} and {high}."]
    return errors


@transaction.atomic
def stock_update(*, actor: User, item: S, **changes: Any) -> S:
    """Set up or change the item's stock tracking: a count (`stock_on_hand`; null stops tracking), its pack size,
    units per dose or warning days. Bad values are refused whole (ValidationError), nothing changed."""
    refuse_unknown(changes, STOCK_FIELDS)
    item = _locked(item)
    _check(item)
    for name in ("units_per_dose", "refill_warning_days"):
        if name in changes and changes[name] is None:
            raise ValidationError({name: ["This field may not be null."]})
    previous_due = item.refill_due_on
    for name, value in changes.items():
        setattr(item, name, value)
    errors = _limits(item)
    if errors:
        raise ValidationError(errors)
    if "stock_on_hand" in changes:
        item.stock_counted_at = clock.now() if item.stock_on_hand is not None else None
    _project(item, recount=True)
    _store(item, previous_due, updated_at=True)
    return item


def stock_kind_named(item_kind: str) -> StockKind | None:
    return next((kind for kind in _kinds.values() if kind.item_kind == item_kind), None)


@dataclass(frozen=True)
class RefillOutcome(Generic[S]):
    item: S
    refill: StockRefill
    created: bool  # False: this refill's id was recorded before (a retry), nothing added again


CLOCK_SKEW = timedelta(minutes=5)  # as for doses: a phone clock a little ahead is not "the future"
MAX_REFILL_AGE = timedelta(days=400)


@transaction.atomic
def stock_refill(
    *,
    actor: User,
    item: S,
    packs: int | None = None,
    units: int | None = None,
    id: uuid.UUID | None = None,
    refilled_at: datetime | None = None,
    stated: Collection[str] | None = None,
) -> RefillOutcome[S]:
    """She picked up a refill: `packs` full packs (of `pack_size` units) or `units` units are added, and the refill
    is recorded (`id`: the client's, so a retry, or a refill recorded offline and pushed twice, adds nothing again;
    the same id with other values is a ConflictError). An untracked item starts being tracked from 0. Over the limit,
    without a pack size, in the future: ValidationError, nothing changed."""
    if (packs is None) == (units is None):
        raise ValidationError({"packs": ["Give either packs or units."]})
    item = _locked(item)
    kind = _kind(item)
    now = clock.now()
    # What the client gave is compared on a retry (`stated` narrows it further): not a default filled in here.
    given = {"item_kind", "item_id", *(name for name, v in (("packs", packs), ("units", units)) if v is not None)}
    if refilled_at is not None:
        given.add("refilled_at")
    refilled_at = refilled_at or now
    body = stated_body(
        {
            "item_kind": ("item_kind", kind.item_kind),
            "item_id": ("item_id", item.pk),
            "packs": ("packs", packs),
            "units": ("units", units),
            "refilled_at": ("refilled_at", refilled_at),
        },
        given if stated is None else given & set(stated),
    )
    refill_id = id or uuid.uuid4()
    patient_id = item.patient_id  # type: ignore[attr-defined]
    existing = replayed(StockRefill, refill_id, body=body, patient_id=patient_id)
    if existing is not None:
        return RefillOutcome(item, existing, created=False)
    _check(item)
    if refilled_at > now + CLOCK_SKEW:
        raise ValidationError({"refilled_at": ["Cannot be in the future."]})
    if refilled_at < now - MAX_REFILL_AGE:
        raise ValidationError({"refilled_at": ["More than 400 days ago."]})
    errors: dict[str, list[str]] = {}
    if packs is not None:
        if not 1 <= packs <= rules.MAX_REFILL_PACKS:
            errors["packs"] = [f"Must be between 1 and {rules.MAX_REFILL_PACKS}."]
        elif item.pack_size is None:
            errors["packs"] = ["Set the pack size first, or give the units."]
        else:
            units = packs * item.pack_size
    elif units is not None and not 1 <= units <= rules.MAX_STOCK:
        errors["units"] = [f"Must be between 1 and {rules.MAX_STOCK}."]
    if not errors and units is not None and (item.stock_on_hand or 0) + units > rules.MAX_STOCK:
        errors["packs" if packs is not None else "units"] = [
            f"That would make {(item.stock_on_hand or 0) + units} units on hand; at most {rules.MAX_STOCK}."
        ]
    if errors:
        raise ValidationError(errors)
    assert units is not None
    refill = StockRefill(
        id=refill_id,
        patient_id=patient_id,
        item_kind=kind.item_kind,
        item_id=item.pk,
        packs=packs,
        units=units,
        refilled_at=refilled_at,
        recorded_by=actor,
    )
    stored, created = insert_or_replay(refill, body=body, patient_id=patient_id)
    if not created:
        return RefillOutcome(item, stored, created=False)
    previous_due = item.refill_due_on
    item.stock_on_hand = (item.stock_on_hand or 0) + units
    item.stock_counted_at = now
    _project(item, recount=True)
    _store(item, previous_due, updated_at=True)
    return RefillOutcome(item, refill, created=True)
