#!/usr/bin/env bash
# Set up a development checkout: a Python venv with Collective and its pinned dependencies,
# and the pinned npm tools (solc-js, anvil). Safe to run again; it only fills in what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Collective needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"

if ! command -v npm >/dev/null 2>&1; then
    echo "warning: npm not found; solc-js and anvil are unavailable (the packaged artifacts still deploy)" >&2
elif [ ! -x node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil ] || [ ! -d node_modules/solc ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
