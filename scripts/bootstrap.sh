#!/usr/bin/env bash
# Shared by scripts/demo and scripts/test: make sure uv exists, then install the
# project with every extra from the committed lock file into .venv.
# The first run compiles llama-cpp-python (several minutes, portable CPU flags
# from pyproject.toml); uv caches the wheel, so later runs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  if [ -x "$HOME/.local/bin/uv" ]; then
    export PATH="$HOME/.local/bin:$PATH"
  else
    echo "==> installing uv with pip"
    python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
    export PATH="$HOME/.local/bin:$PATH"
  fi
fi

echo "==> installing Orchestra and its dependencies (uv sync --locked --all-extras)"
uv sync --locked --all-extras
