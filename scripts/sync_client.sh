#!/usr/bin/env bash
# Installs the WatermelonDB conformance client (sync_client/) exactly as package-lock.json pins it, with Node.js
# from Debian's packages when the machine has none. Idempotent and fast when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/../sync_client"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "sync_client: Node.js 20 and npm are needed (apt-get install nodejs npm)" >&2
    exit 1
  fi
fi
stamp=node_modules/.lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
