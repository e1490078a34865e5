# Waves (issue 6): view one test's VCD, and the README's picture.
.PHONY: waves waves-picture

WAVES_TEST = $(if $(TEST),$(TEST),test_lecture_3x3)
WAVES_ARGS = --sim $(call sq,$(SIM)) --rows $(call sq,$(or $(ROWS),3)) --cols $(call sq,$(or $(COLS),3)) \
	$(call opt,--data-w,$(DATA_W)) $(call opt,--acc-w,$(ACC_W)) $(call opt,--seed,$(SEED)) \
	--test $(call sq,$(WAVES_TEST))

# The VCD it shows is that of `systolic run` with the same options: checked as that command.
VARS.waves := TEST SIM ROWS COLS DATA_W ACC_W SEED
CMD.waves = run $(WAVES_ARGS)
waves: setup ## open one test's VCD in GTKWave, or print how (TEST=, SIM=, ROWS=, COLS=, SEED=)
	@$(QPY) -m systolic.verify.show $(WAVES_ARGS)

# The picture in the README: the lecture's 3x3 example, drawn from a real Icarus simulation.
WAVES_PICTURE_VCD = build/waves/test_lecture_3x3-icarus-r3c3_d8_a32-seed1.vcd

VARS.waves-picture :=
waves-picture: setup ## redraw docs/img/lecture_3x3.gif from a fresh Icarus simulation
	@$(SYSTOLIC) run --sim icarus --rows 3 --cols 3 --seed 1 --test test_lecture_3x3 --waves
	@$(SYSTOLIC) waves $(WAVES_PICTURE_VCD) --gif docs/img/lecture_3x3.gif --fps 1.5
