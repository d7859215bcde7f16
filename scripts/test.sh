#!/usr/bin/env bash
# The test command: installs the locked environment, makes sure PostgreSQL and Redis run, then runs the whole
# suite against them. Extra arguments go to pytest (e.g. scripts/test.sh -k bone_health).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/services.sh
scripts/sync_client.sh   # the real WatermelonDB client for the sync conformance suite (npm ci from the lock)
scripts/browser_deps.sh  # Debian's Chromium for the console's browser tests
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export CACHE_URL=${CACHE_URL:-redis://127.0.0.1:6379/1}
export BONESYNC_REQUIRE_SERVICES=${BONESYNC_REQUIRE_SERVICES:-1}
exec .venv/bin/python -m pytest "$@"
