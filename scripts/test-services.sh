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
    echo "test-services: missing Debian packages (install them as root): ${need[*]}" >&2
    exit 1
  fi
fi
# every required tool must run, or the suites that need it would fail one by one later
check() { "$@" >/dev/null 2>&1 || { echo "test-services: cannot run: $*" >&2; exit 1; }; }
check chromium --version
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null \
  || { echo "test-services: mosquitto is not installed" >&2; exit 1; }
check redis-server --version
check /usr/lib/postgresql/15/bin/initdb --version
check /usr/lib/postgresql/15/bin/postgres --version
[ -f /usr/share/postgresql/15/extension/postgis.control ] \
  || { echo "test-services: PostGIS is not installed" >&2; exit 1; }
command -v wrk >/dev/null || { echo "test-services: wrk is not installed" >&2; exit 1; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
check "$nginx_bin" -v
check ogrinfo --version
# dev modules too (axe-core); a demo setup may already have installed the runtime ones only
if [ -f package-lock.json ] && [ ! -f node_modules/axe-core/package.json ]; then
  npm ci --silent --no-audit --no-fund
fi
for f in axe-core/axe.min.js protomaps-leaflet/dist/protomaps-leaflet.js \
         leaflet.markercluster/dist/leaflet.markercluster.js; do
  [ -f "node_modules/$f" ] || { echo "test-services: node_modules/$f missing (npm ci failed?)" >&2; exit 1; }
done
