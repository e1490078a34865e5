#!/usr/bin/env python3
"""The legs that one GitHub Actions event runs (the `plan` job of .github/workflows/ci.yml).

Prints ``key=value`` lines for $GITHUB_OUTPUT:

- ``matrix``: ``{"include": [leg, ...]}`` for ``strategy.matrix: ${{ fromJSON(...) }}``; one leg
  per simulator for the quick tier (``make test``), SHARDS legs per simulator for the nightly
  tier (``make regress``, split by pytest-split with the committed .test_durations);
- ``tier``: test or regress;
- ``trusted``: true when the run may write (push the CI image, publish check runs): every event
  except a pull request from a fork or from Dependabot, whose token is read-only.

Inputs come from the environment (set by the workflow, never interpolated into the script):
EVENT (github.event_name), TIER (inputs.tier of workflow_dispatch, else empty), REPOSITORY
(github.repository), HEAD_REPOSITORY (the pull request's head repository, else empty) and
ACTOR (github.actor). An unknown event or tier is an error (exit 2): a typo never runs nothing.
Only the standard library: it runs on the bare runner before the image exists.
"""

from __future__ import annotations

import json
import os
import sys

SIMS = ("icarus", "verilator")
SHARDS = 4
TIERS = {
    # make target -> (pytest --tier, job timeout in minutes, coverage closure per leg)
    "test": ("quick", 40, "--check"),
    # A shard sees part of the coverage: closure over all shards is the coverage job's.
    "regress": ("nightly", 150, ""),
}
DURATIONS = ".test_durations"
#: Events and the tier each runs; workflow_dispatch takes its `tier` input.
EVENT_TIER = {"push": "test", "pull_request": "test", "schedule": "regress"}
#: Deselected in the container legs: the image has no npm (the actionlint job runs them).
CONTAINER_DESELECT = '-m "not npm"'


def tier_of(event: str, tier_input: str) -> str:
    if event == "workflow_dispatch":
        tier = tier_input or "test"
    elif event in EVENT_TIER:
        tier = EVENT_TIER[event]
    else:
        raise ValueError(
            f"event {event!r} runs no tier; expected one of "
            f"{', '.join([*EVENT_TIER, 'workflow_dispatch'])}"
        )
    if tier not in TIERS:
        raise ValueError(f"tier {tier!r}: choose from {', '.join(TIERS)}")
    return tier


def legs(tier: str) -> list[dict]:
    """Every leg of a tier, each with the make target and pytest arguments it runs."""
    pytest_tier, timeout, cov_check = TIERS[tier]
    shards = SHARDS if tier == "regress" else 1
    out = []
    for sim in SIMS:
        for shard in range(1, shards + 1):
            split = (
                f"--splits {shards} --group {shard} --durations-path {DURATIONS}"
                if shards > 1
                else ""
            )
            name = f"{sim}-{tier}" + (f"-{shard}of{shards}" if shards > 1 else "")
            out.append(
                {
                    "name": name,
                    "sim": sim,
                    "tier": tier,
                    "pytest_tier": pytest_tier,
                    "shard": shard,
                    "shards": shards,
                    "split_args": split,
                    "pytest_args": f"{split} {CONTAINER_DESELECT}".strip(),
                    "cov_check": cov_check,
                    "timeout": timeout,
                }
            )
    return out


def trusted(event: str, repository: str, head_repository: str, actor: str) -> bool:
    """May this run write packages and check runs? Not for fork or Dependabot pull requests."""
    if event not in ("pull_request", "pull_request_target"):
        return actor != "dependabot[bot]"
    return head_repository == repository and actor != "dependabot[bot]"


def plan(env: dict[str, str]) -> dict[str, str]:
    event = env.get("EVENT", "")
    tier = tier_of(event, env.get("TIER", "").strip())
    ok = trusted(
        event, env.get("REPOSITORY", ""), env.get("HEAD_REPOSITORY", ""), env.get("ACTOR", "")
    )
    return {
        "matrix": json.dumps({"include": legs(tier)}, separators=(",", ":")),
        "tier": tier,
        "trusted": "true" if ok else "false",
    }


def main() -> int:
    try:
        out = plan(dict(os.environ))
    except ValueError as exc:
        print(f"ci_matrix: {exc}", file=sys.stderr)
        return 2
    for key, value in out.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
