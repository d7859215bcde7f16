#!/usr/bin/env bash
# The test command: installs the locked environment, makes sure PostgreSQL and Redis run, then runs the whole
# suite against them in parallel (pytest-xdist: 2 workers, BONESYNC_TEST_WORKERS to change; see tests/parallel.py).
# Extra arguments go to pytest (e.g. scripts/test.sh -k bone_health); one of your own `-n N` / `--numprocesses`, or
# `-p no:xdist`, replaces the default (scripts/test.sh tests/alerts -n 0 runs serially).
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
# load: each worker gets batches of tests in the suite's order (pytest-django's: plain database tests before
# transactional ones), the live contract run first. Not loadgroup (pytest 9.2 ignores xdist 3.8's group suffix),
# nor loadfile/worksteal (they would run a file's transactional tests before other files' plain ones).
parallel=(-n "${BONESYNC_TEST_WORKERS:-2}" --dist load)
for arg in "$@"; do
  case "$arg" in -n | -n[0-9a]* | --numprocesses* | no:xdist | -pno:xdist) parallel=() ;; esac
done
exec .venv/bin/python -m pytest "${parallel[@]}" "$@"
