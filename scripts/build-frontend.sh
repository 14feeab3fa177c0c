#!/usr/bin/env bash
# Build the web UI (frontend/) and put it where the Python package serves it from:
# src/orchestra/web/ (index.html + assets/). The wheel carries these files (hatch
# `artifacts` in pyproject.toml), although git ignores them.
# Needs Node 20.19+ and npm; dependencies come from the committed package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  echo "build-frontend: npm is missing; install Node.js 20.19 or newer (https://nodejs.org)" >&2
  exit 1
fi

# `npm ci` wipes node_modules and reinstalls; skip it when the install matches the lock file.
if [ ! -f frontend/node_modules/.package-lock.json ] \
  || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
  echo "==> installing web UI dependencies (npm ci)"
  npm --prefix frontend ci --no-audit --no-fund
fi

echo "==> building the web UI (npm run build)"
npm --prefix frontend run build

target=src/orchestra/web
rm -rf "$target/assets" "$target/index.html"
cp -R frontend/dist/. "$target/"
echo "==> web UI built into $target"
