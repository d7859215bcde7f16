"""Deeply nested JSON (issue 12) through sync: the push body, a JSON-as-text column and the pull's `migration`
parameter are a 400 in the one error shape, nothing logged at ERROR."""

import pytest

from tests.backend.test_deep_json import DEEP, DEEP_OBJECT, no_errors_logged  # noqa: F401 (a fixture)
from tests.backend.test_errors import assert_error
from tests.conftest import World
from tests.sync.conftest import App, table_changes


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("no_errors_logged")
def test_sync_push_body_and_json_column_with_deep_json_are_a_400(world: World, app_for) -> None:
    app: App = app_for(world.ann)
    app.pull()
    url = f"/api/v1/sync/?last_pulled_at={app.last_pulled_at}"
    assert_error(app.client.post(url, data=DEEP_OBJECT, content_type="application/json"), 400, "parse_error")
    # A JSON-as-text column (WatermelonDB has no list type): refused for that column, like any malformed value.
    plan = {"id": "6f1c8e1e-4a0a-4bb5-9d55-0b8f2f6c2a11", "reminder_days": DEEP}
    body = app.push(table_changes(exercise_plans={"updated": [plan]}), expect=400)
    assert body["error"]["fields"] == {"exercise_plans.updated.0.reminder_days": ["Must be a JSON list, as text."]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("no_errors_logged")
def test_sync_pull_migration_parameter_with_deep_json_is_a_400(world: World, app_for) -> None:
    app: App = app_for(world.ann)
    app.pull()
    response = app.client.get("/api/v1/sync/", {"last_pulled_at": str(app.last_pulled_at), "migration": DEEP_OBJECT})
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"migration"}
    app.pull(migration={"from": 1, "tables": [], "columns": []})  # a well-formed one still works
