# Waves (issue 6): view one test's VCD, and the README's picture.
.PHONY: waves waves-picture

WAVES_TEST = $(if $(TEST),$(TEST),test_lecture_3x3)
WAVES_ARGS = --sim $(SIM) --rows $(if $(ROWS),$(ROWS),3) --cols $(if $(COLS),$(COLS),3) \
	--data-w $(DATA_W) --acc-w $(ACC_W) --seed $(SEED) --test $(WAVES_TEST)

waves: setup ## open one test's VCD in GTKWave, or print how (TEST=, SIM=, ROWS=, COLS=, SEED=)
	@$(PY) -m systolic.verify.show $(WAVES_ARGS)

# The picture in the README: the lecture's 3x3 example, drawn from a real Icarus simulation.
WAVES_PICTURE_VCD = build/waves/test_lecture_3x3-icarus-r3c3_d8_a32-seed1.vcd

waves-picture: setup ## redraw docs/img/lecture_3x3.gif from a fresh Icarus simulation
	@$(SYSTOLIC) run --sim icarus --rows 3 --cols 3 --seed 1 --test test_lecture_3x3 --waves
	@$(SYSTOLIC) waves $(WAVES_PICTURE_VCD) --gif docs/img/lecture_3x3.gif --fps 1.5
