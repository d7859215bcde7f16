"""The shape every partial update of a record shares (schedules, plans, dose corrections): refuse a field the update
does not take, then set only what really changes. An app echoing a value back unchanged is not setting it, so
"what changed" is what the rules (review, who may set what) judge."""

from collections.abc import Collection, Mapping
from typing import Any

from django.core.exceptions import ValidationError


def refuse_unknown(changes: Mapping[str, Any], fields: Collection[str]) -> None:
    """A ValidationError naming each field of `changes` outside `fields`."""
    unknown = set(changes) - set(fields)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})


def apply_changes(row: Any, changes: Mapping[str, Any]) -> set[str]:
    """Set on `row` each value that differs from its own; returns those names."""
    changed = {name for name, value in changes.items() if getattr(row, name) != value}
    for name in changed:
        setattr(row, name, changes[name])
    return changed
