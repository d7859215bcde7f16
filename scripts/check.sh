#!/usr/bin/env bash
# Static checks CI runs beside the tests: lint, format, types, migrations, deploy checks, compose validation.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
V=.venv/bin

# mypy (the longest step, one core) runs beside the others; its report is printed, and its status kept, at the end.
mypy_out=$(mktemp)
$V/mypy . >"$mypy_out" 2>&1 &
mypy_pid=$!
trap 'kill "$mypy_pid" 2>/dev/null || true; rm -f "$mypy_out"' EXIT

echo "== ruff";                $V/ruff check . && $V/ruff format --check -q .
echo "== import layers";       $V/lint-imports --no-cache
echo "== migrations";          $V/python manage.py makemigrations --check --dry-run
echo "== check --deploy (production settings, test secrets)"
DJANGO_ENV=production \
DJANGO_SECRET_KEY="ci-only-$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')" \
DJANGO_ALLOWED_HOSTS=bonesync.example.org \
  $V/python manage.py check --deploy --fail-level WARNING
echo "== docker-compose.yml";  $V/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
echo "== mypy"
mypy_status=0
wait "$mypy_pid" || mypy_status=$?
cat "$mypy_out"
exit "$mypy_status"
