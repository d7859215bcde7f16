"""Records whose id the client generates (offline phones): a retry with the same id returns the stored row; an id
already used for something else is refused. Shared by doses, supplement intakes, diet entries, exercise sessions."""

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

M = TypeVar("M", bound=models.Model)

ID_TAKEN = {"id": ["This id is already used by another record."]}


def replayed(model: type[M], record_id: Any, **owner: Any) -> M | None:
    """The stored row when this id was recorded before for the same owner (e.g. patient_id=...); None when new."""
    existing = model._default_manager.filter(pk=record_id).first()
    if existing is None:
        return None
    if any(getattr(existing, field) != value for field, value in owner.items()):
        raise ValidationError(ID_TAKEN)
    return existing


def insert_or_replay(row: M, **owner: Any) -> tuple[M, bool]:
    """Insert `row`; if the same id raced in from another request, return the stored one (created=False)."""
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        existing = replayed(type(row), row.pk, **owner)
        if existing is None:
            raise  # not an id clash: a real integrity error
        return existing, False
    return row, True
