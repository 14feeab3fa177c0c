#!/bin/sh
# The end-to-end test drives Debian's chromium with playwright-core; it never downloads a
# browser. Install it with apt when missing (needs root or passwordless sudo; CI runs as root).
set -eu
if [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  exit 0
fi
echo "==> installing chromium with apt-get (for the web UI end-to-end test)"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo -n"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium
