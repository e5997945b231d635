#!/usr/bin/env bash
# Debian packages and npm modules the tests use: a real browser, a real broker, nginx,
# PostgreSQL + PostGIS and Redis (the postgis+redis backend tests start their own).
# Installed only when missing; servers are started by the tests themselves on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null || need+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v ogrinfo >/dev/null || need+=(gdal-bin)
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing Debian packages (install as root): ${need[*]}" >&2
  fi
fi
# dev modules too (axe-core); a demo setup may already have installed the runtime ones only
if [ -f package-lock.json ] && [ ! -f node_modules/axe-core/package.json ]; then
  npm ci --silent --no-audit --no-fund
fi
