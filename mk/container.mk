# The container, proven here (issue 13). Included by the top-level Makefile.
#   make container-check   the Dockerfile's steps run for real in a Debian root file system that
#                          stands for its base image (mmdebstrap + chroot, as root; no Docker
#                          engine), then make sim on both simulators and a named make test subset;
#                          a PASS/FAIL table with wall times. Takes minutes: not part of make test.
# Options: CONTAINER_PIP_HANDOVER=auto|yes|no (the host's pip configuration, local wheel/index
# directories and CA bundle handed to the root), CONTAINER_CONTEXT=head|worktree (default: the
# committed tree of CONTAINER_REF=HEAD), CONTAINER_TEST_ARGS='<pytest args>',
# CONTAINER_CHECK_VERBOSE=1.
# See scripts/container-check.sh and docs/verification.md ("CI in containers").

.PHONY: container-check
export CONTAINER_PIP_HANDOVER CONTAINER_CONTEXT CONTAINER_REF CONTAINER_TEST_ARGS CONTAINER_CHECK_VERBOSE

VARS.container-check := CONTAINER_PIP_HANDOVER CONTAINER_CONTEXT CONTAINER_REF CONTAINER_TEST_ARGS \
	CONTAINER_CHECK_VERBOSE
container-check: make-check ## Dockerfile steps for real in a bookworm chroot + sims/tests inside (root, minutes)
	@bash scripts/container-check.sh
