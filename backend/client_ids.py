"""Records whose id the client generates (offline phones): a retry with the same id and the same body returns the
stored row; the same id with a different body is a 409 naming each field that differs (a new record needs a new id);
an id already used by another patient's record is refused. Shared by doses, supplement intakes, diet entries,
exercise sessions.

What is compared is what the client stated (`stated`: the names it sent): a field it left out is not compared, and
one it stated equal to the stored value (the same instant in another offset, 500 and 500.00, a default it spelled
out) is the same."""

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from backend.errors import ConflictError

M = TypeVar("M", bound=models.Model)
# API field name -> (the stored row's attribute, the value this request gives it)
Body = Mapping[str, tuple[str, Any]]

ID_TAKEN = {"id": ["This id is already used by another record."]}
ID_REUSED = (
    "This id is already recorded with different values: a retry must send the same body, a new record needs a new id."
)
DIFFERS = "Differs from the record already stored under this id."


def stated_body(fields: Body, stated: Collection[str] | None) -> dict[str, tuple[str, Any]]:
    """The part of `fields` the client stated (all of it when `stated` is None)."""
    return {name: item for name, item in fields.items() if stated is None or name in stated}


def _same(stored: Any, sent: Any) -> bool:
    # Aware date-times compare as instants (08:05-08:00 is 16:05Z), decimals by value (500 is 500.00).
    if isinstance(stored, uuid.UUID) or isinstance(sent, uuid.UUID):
        return str(stored) == str(sent)
    return bool(stored == sent)


def differing(row: models.Model, body: Body) -> list[str]:
    """The fields of `body` whose value is not the stored one, in `body`'s order."""
    return [name for name, (attribute, value) in body.items() if not _same(getattr(row, attribute), value)]


def replayed(model: type[M], record_id: Any, *, body: Body | None = None, **owner: Any) -> M | None:
    """The stored row when this id was recorded before for the same owner (e.g. patient_id=...) with the same `body`;
    None when new. Another owner's id: ValidationError; the same owner's id with another body: ConflictError."""
    existing = model._default_manager.filter(pk=record_id).first()
    if existing is None:
        return None
    if any(getattr(existing, field) != value for field, value in owner.items()):
        raise ValidationError(ID_TAKEN)
    differs = differing(existing, body or {})
    if differs:
        raise ConflictError(ID_REUSED, {name: [DIFFERS] for name in differs})
    return existing


def insert_or_replay(row: M, *, body: Body | None = None, **owner: Any) -> tuple[M, bool]:
    """Insert `row`; if the same id raced in from another request, return the stored one (created=False) when its
    `body` is the same (ConflictError otherwise, as `replayed`)."""
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        existing = replayed(type(row), row.pk, body=body, **owner)
        if existing is None:
            raise  # not an id clash: a real integrity error
        return existing, False
    return row, True


class HasId(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


Item = TypeVar("Item", bound=HasId)


def insert_new_in_bulk(
    model: type[M], items: Sequence[Item], build: Callable[[Item], M]
) -> tuple[set[uuid.UUID], dict[uuid.UUID, ValidationError]]:
    """Many new records at once (a sync push's backlog): each built (and so validated) by `build`, the valid ones
    inserted in one statement. Returns (inserted ids, refused ids with why). Ids already recorded (by anyone), or all
    of them when another request inserts one meanwhile, are neither: the caller records those one by one, where a
    replay, a conflict or a refusal is answered as usual."""
    taken = set(model._default_manager.filter(pk__in=[item.id for item in items]).values_list("pk", flat=True))
    rows: list[M] = []
    refused: dict[uuid.UUID, ValidationError] = {}
    for item in items:
        if item.id in taken:
            continue
        try:
            rows.append(build(item))
        except ValidationError as exc:
            refused[item.id] = exc
    try:
        with transaction.atomic():
            model._default_manager.bulk_create(rows, batch_size=500)
    except IntegrityError:  # one of them raced in from another request: leave them all to the one-by-one path
        return set(), refused
    return {row.pk for row in rows}, refused
