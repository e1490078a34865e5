# CI image: Debian bookworm + Python 3.11, set up by the same script that `make` and .ci/run use.
#   docker build -t systolic-ci .
#   docker run --rm systolic-ci make test        # or: make regress, make sim SIM=verilator
FROM python:3.11-slim-bookworm

ENV DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /work/systolic

# Only what the setup script needs to read first, so the dependency layer is cached.
COPY scripts/setup.sh scripts/setup.sh
COPY pyproject.toml constraints.txt README.md ./
COPY systolic systolic
COPY models models
COPY tb tb
COPY pruning pruning
COPY bench bench
COPY waves waves
COPY lowering lowering
# Installs iverilog, perl, make, g++ with apt (root) and the pinned venv in .venv.
RUN bash scripts/setup.sh

COPY . .
RUN bash scripts/setup.sh
CMD ["make", "test"]
