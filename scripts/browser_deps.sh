#!/usr/bin/env bash
# Browser-test prerequisites for the console's Playwright tests: Debian's Chromium at /usr/bin/chromium.
# Idempotent and fast when present. Playwright's own browser download is never used (nothing outside is reachable):
# the tests point Playwright at this binary. The Python packages (playwright, pytest-playwright) come from the lock.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  # The browser tests then fail with the same hint; the rest of the suite still runs.
  echo "browser_deps: /usr/bin/chromium is missing; as root run: apt-get install -y chromium" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
test -x /usr/bin/chromium
