#!/usr/bin/env bash
# The run command: installs the locked environment, migrates, loads the demo organisation, prints its logins,
# then serves the API with a Celery worker and beat beside it. Embedded defaults (SQLite, a filesystem broker)
# need no server; set DATABASE_URL and CELERY_BROKER_URL to use PostgreSQL and Redis instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
mkdir -p var
PORT=${PORT:-8000}
PY=.venv/bin/python

$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo
echo
echo "API:          http://127.0.0.1:${PORT}/api/v1/"
echo "API docs:     http://127.0.0.1:${PORT}/api/docs/"
echo "Django admin: http://127.0.0.1:${PORT}/admin/"
echo "Care team console: http://127.0.0.1:${PORT}/console/ (nina.coordinator@ or paul.pharmacist@demo.bonesync.test)"
echo "Sign in:      curl -s -X POST http://127.0.0.1:${PORT}/api/v1/auth/token/ -H 'Content-Type: application/json' \\"
echo "                -d '{\"email\": \"nina.coordinator@demo.bonesync.test\", \"password\": \"BoneSync-demo-2026\"}'"
echo

# One worker with beat embedded (-B) is enough for a laptop; production runs them apart (docker-compose.yml).
.venv/bin/celery -A config worker -B --pool=solo --without-gossip --without-mingle -l info \
  --schedule var/celerybeat-schedule >var/celery.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true; wait $worker 2>/dev/null || true' EXIT INT TERM
echo "Celery worker + beat: pid $worker, log in var/celery.log"
$PY manage.py runserver "0.0.0.0:${PORT}"
