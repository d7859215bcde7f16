"""Insert rows unless a unique constraint already holds them: one statement, no savepoint.

`Model.objects.create()` inside `transaction.atomic()` with `except IntegrityError` costs three round trips
(SAVEPOINT, INSERT, RELEASE) per row and reads as an error path; `INSERT ... ON CONFLICT DO NOTHING RETURNING id`
(SQLite: `INSERT OR IGNORE ... RETURNING id`) says "exactly once" in the statement itself, for any number of rows,
tells which were written, and leaves the caller's transaction usable either way.
"""

from collections.abc import Sequence
from typing import TypeVar

from django.db import connections, router
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery

M = TypeVar("M", bound=Model)


def insert_each_once(rows: Sequence[M]) -> list[M]:
    """Insert the rows (all of one model, primary keys set by their default, as `BaseModel`'s UUID is); returns
    those written, in order. A row a unique constraint already held is not written and stays unsaved. `auto_now`
    fields are filled as `save()` would; no signals are sent (none are connected to the models that use this)."""
    if not rows:
        return []
    model = type(rows[0])
    if any(type(row) is not model or row.pk is None for row in rows):
        raise ValueError("insert_each_once takes rows of one model whose primary keys are set before the insert.")
    using = router.db_for_write(model)
    pk = model._meta.pk
    assert pk is not None
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
    query.insert_values(model._meta.local_concrete_fields, list(rows))
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [pk]
    with connections[using].cursor() as cursor:
        (sql, params), *more = compiler.as_sql()
        assert not more, "one statement (the backend returns rows from a bulk insert)"
        cursor.execute(sql, params)
        written = {pk.to_python(value) for (value,) in cursor.fetchall()}
    inserted = [row for row in rows if row.pk in written]
    for row in inserted:
        row._state.adding = False
        row._state.db = using
    return inserted


def insert_once(row: Model) -> bool:
    """Insert `row` unless a unique constraint already holds an equal one; True when it was written."""
    return bool(insert_each_once([row]))
