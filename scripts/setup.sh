#!/usr/bin/env bash
# Set up a development checkout: a Python venv with Collective and its pinned dependencies,
# slither in a venv of its own, and the pinned npm tools (solc-js, anvil, forge). Safe to run
# again; it only fills in what is missing.
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
# The copies of pyproject.toml and constraints.txt in the venv say what it holds: pip runs only
# when one of them changed. constraints.txt holds the exact versions every run installs.
if ! cmp -s pyproject.toml .venv/installed-pyproject.toml \
    || ! cmp -s constraints.txt .venv/installed-constraints.txt; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check \
        -c constraints.txt -e ".[node,dev]"
    cp pyproject.toml .venv/installed-pyproject.toml
    cp constraints.txt .venv/installed-constraints.txt
fi

# slither (static analysis, scripts/slither_check.py) lives in its own venv: every
# slither-analyzer 0.11.x requires web3<8 and Collective pins web3 8. The copy of the pins in the
# venv says what it holds; it is reinstalled only when scripts/slither-requirements.txt changes.
if ! cmp -s scripts/slither-requirements.txt .venv-slither/installed-requirements.txt; then
    [ -x .venv-slither/bin/python ] || "$PYTHON" -m venv .venv-slither
    .venv-slither/bin/python -m pip install --quiet --disable-pip-version-check \
        -r scripts/slither-requirements.txt
    cp scripts/slither-requirements.txt .venv-slither/installed-requirements.txt
fi

# CometBFT, the consensus engine of the consortium network (collective network, node start
# --consensus cometbft): built from the Go module proxy at a pinned version, CGO off, into a
# cache outside the checkout (kept across clones and CI runs), and linked into .venv/bin.
COMETBFT_VERSION="v0.38.26"  # keep in step with collective/network/cometbft.py
COMETBFT_CACHE="${COLLECTIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/collective}/cometbft-$COMETBFT_VERSION"
if [ ! -x "$COMETBFT_CACHE/cometbft" ]; then
    if command -v go >/dev/null 2>&1; then
        echo "building cometbft $COMETBFT_VERSION (go install, once per machine)" >&2
        mkdir -p "$COMETBFT_CACHE"
        CGO_ENABLED=0 GOBIN="$COMETBFT_CACHE" GOFLAGS=-buildvcs=false \
            go install "github.com/cometbft/cometbft/cmd/cometbft@$COMETBFT_VERSION"
    else
        echo "warning: go not found; cometbft (the consortium network) is unavailable" >&2
    fi
fi
if [ -x "$COMETBFT_CACHE/cometbft" ]; then
    ln -sf "$COMETBFT_CACHE/cometbft" .venv/bin/cometbft
fi

# revm, the optional native execution engine (collective node start --engine revm; the node runs
# on py-evm without it): native/revm_engine built by maturin into a wheel, cached outside the
# checkout under a key of the crate's sources and Cargo.lock (cargo's target dir is cached too,
# so a changed source rebuilds incrementally), and installed into .venv when the key changed.
[ -d "$HOME/.cargo/bin" ] && PATH="$PATH:$HOME/.cargo/bin"
REVM_SRC=native/revm_engine
REVM_KEY="$(cat "$REVM_SRC/Cargo.toml" "$REVM_SRC/Cargo.lock" "$REVM_SRC/pyproject.toml" "$REVM_SRC"/src/*.rs \
    | sha256sum | cut -c1-16)"
REVM_ROOT="${COLLECTIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/collective}"
REVM_CACHE="$REVM_ROOT/revm-$REVM_KEY"
if ! ls "$REVM_CACHE"/collective_revm-*.whl >/dev/null 2>&1; then
    if command -v cargo >/dev/null 2>&1; then
        echo "building collective_revm (revm 19.4.0 via maturin; once per source change)" >&2
        rm -rf "$REVM_CACHE.tmp"
        if CARGO_TARGET_DIR="$REVM_ROOT/revm-target" .venv/bin/maturin build --quiet --release \
            --locked --manifest-path "$REVM_SRC/Cargo.toml" --out "$REVM_CACHE.tmp" >&2; then
            mv "$REVM_CACHE.tmp" "$REVM_CACHE"
        else
            rm -rf "$REVM_CACHE.tmp"
            echo "warning: building collective_revm FAILED (see above); the node runs on py-evm" \
                "only (--engine revm is unavailable)" >&2
        fi
    else
        echo "warning: cargo not found; the revm engine (--engine revm) is unavailable, the node" \
            "runs on py-evm" >&2
    fi
fi
if ls "$REVM_CACHE"/collective_revm-*.whl >/dev/null 2>&1 \
    && [ "$(cat .venv/installed-revm 2>/dev/null)" != "$REVM_KEY" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
        --force-reinstall "$REVM_CACHE"/collective_revm-*.whl
    echo "$REVM_KEY" > .venv/installed-revm
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "warning: npm not found; solc-js, anvil and forge are unavailable (the packaged artifacts still deploy)" >&2
elif ! cmp -s package-lock.json node_modules/.installed-package-lock.json; then
    # The copy of the lock file in node_modules says what it holds: npm runs only when it changed.
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.installed-package-lock.json
fi

# The consent portal's browser code (portal/web: ES modules using ethers) bundled by esbuild into
# collective/portal/static/dist (gitignored), which `collective portal` serves itself: no CDN.
# Rebuilt every run (a fraction of a second), so the bundle always matches the sources.
if [ -x node_modules/.bin/esbuild ]; then
    npm run --silent build:portal
fi
