#!/usr/bin/env bash
# Install (with apt, once) what the tests need that PyPI and npm cannot
# provide: PostgreSQL, Redis, bubblewrap, Chromium, Pango and poppler-utils. Sourced by scripts/test.
# The test fixtures start throwaway servers themselves (PostgreSQL through
# scripts/postgres.sh, Redis on a free port), so nothing is left running.
set -euo pipefail

need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
# pdf.render (WeasyPrint) needs Pango and a font; its tests read pages with poppler-utils.
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
ldconfig -p 2>/dev/null | grep libpangoft2-1.0 >/dev/null || need+=(libpango-1.0-0 libpangoft2-1.0-0)
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo -n"
  echo "==> apt-get install ${need[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi
