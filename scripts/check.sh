#!/usr/bin/env bash
# Static checks CI runs beside the tests: lint, format, types, migrations, deploy checks, compose validation.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
V=.venv/bin

echo "== ruff";                $V/ruff check . && $V/ruff format --check -q .
echo "== mypy";                $V/mypy .
echo "== import layers";       $V/lint-imports --no-cache
echo "== migrations";          $V/python manage.py makemigrations --check --dry-run
echo "== check --deploy (production settings, test secrets)"
DJANGO_ENV=production \
DJANGO_SECRET_KEY="ci-only-$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')" \
DJANGO_ALLOWED_HOSTS=bonesync.example.org \
  $V/python manage.py check --deploy --fail-level WARNING
echo "== docker-compose.yml";  $V/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
