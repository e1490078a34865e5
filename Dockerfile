# CI image: Debian 12 (bookworm) slim + Debian's Python 3.11, set up by the same script that
# `make` and .ci/run use.
#   docker build -t systolic-ci .
#   docker run --rm systolic-ci make test        # or: make regress, make sim SIM=verilator
#
# The venv: /opt/systolic-venv (ENV VENV below), outside the source tree. `make` in the image
# uses it by itself; point make at it from any other checkout with VENV=/opt/systolic-venv (CI:
# `make ci-venv VENV=/opt/systolic-venv` first, which re-points its editable `systolic` install,
# made from /work/systolic here, at that checkout).
#
# torch: PyTorch's CPU-only build from its own index, pinned by constraints.txt (a bare torch
# from PyPI pulls in CUDA, gigabytes). Where that index is unreachable, build with
#   --build-arg SETUP_PIP_ARGS=   and a pip configuration that finds the CPU wheel.
#
# Base: Debian's slim image, dated tag pinned by digest (the multi-arch index; Docker's
# docker-library/repo-info records debian:bookworm-20260918-slim at this digest). It has
# perl-base only and no Python: setup.sh installs full perl for Verilator and libpython for
# cocotb; python3 comes from Debian below (3.11.2, no `python` command: Verilator's makefiles
# get PYTHON3 from engine/toolchain.py).
#
# Proven without a Docker engine: `make container-check` (scripts/container-check.sh) runs these
# instructions for real in a mmdebstrap root that stands for this base (bookworm minbase with
# merged /usr), then make sim on both simulators and a named make test subset.
FROM debian:bookworm-20260918-slim@sha256:3783cc01769c7b2b1b83a5c5ad96c815348e28ed7da68e2e3687004faa906251

ENV DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 VENV=/opt/systolic-venv
ARG SETUP_PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu"
WORKDIR /work/systolic

RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null \
    && rm -rf /var/lib/apt/lists/*

# Only what the setup script needs to read first, so the dependency layer is cached: every
# folder that pyproject.toml maps into the systolic package (tests/project/test_container_check.py).
COPY scripts/setup.sh scripts/setup.sh
COPY pyproject.toml constraints.txt README.md ./
COPY systolic systolic
COPY models models
COPY engine engine
COPY tb tb
COPY verify verify
COPY pruning pruning
COPY bench bench
COPY waves waves
COPY lowering lowering
COPY formal formal
COPY mutation mutation
COPY cli cli
COPY rtl rtl
# Installs iverilog, perl, make, g++, z3, libpython3.11 with apt and the pinned venv in $VENV.
RUN bash scripts/setup.sh

COPY . .
RUN bash scripts/setup.sh
CMD ["make", "test"]
