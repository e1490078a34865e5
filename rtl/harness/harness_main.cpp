// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// Raw Verilator main (no Python): plays one stimulus segment through systolic_harness and prints
// the sampled cycles, the last strobe cycle and the signatures. Plusargs as the Icarus testbench:
// +SYSTOLIC_STIM=<hex file> +ROWS_N=<rows> +TOTAL=<cycles to sample>.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "Vsystolic_harness.h"
#include "verilated.h"

static unsigned long plusarg(VerilatedContext &ctx, const char *name) {
  std::string match = ctx.commandArgsPlusMatch(name);
  const char *eq = std::strchr(match.c_str(), '=');
  return eq ? std::strtoul(eq + 1, nullptr, 10) : 0;
}

static void print_wide(const char *name, QData w, int) {
  std::printf("%s %016llx\n", name, static_cast<unsigned long long>(w));
}

template <typename T>
static void print_wide(const char *name, const T &w, int words) {
  std::printf("%s ", name);
  for (int i = words - 1; i >= 0; --i) std::printf("%08x", w[i]);
  std::printf("\n");
}

int main(int argc, char **argv) {
  auto ctx = std::make_unique<VerilatedContext>();
  ctx->commandArgs(argc, argv);
  auto top = std::make_unique<Vsystolic_harness>(ctx.get());
  unsigned long rows = plusarg(*ctx, "ROWS_N="), total = plusarg(*ctx, "TOTAL=");
  top->seg_i = 0;
  top->rows_i = rows;
  top->total_i = total;
  top->clk_i = 0;
  top->rst_ni = 0;
  top->eval();
  for (int i = 0; i < 2; ++i) {
    top->clk_i = 1; top->eval();
    top->clk_i = 0; top->eval();
  }
  top->rst_ni = 1;
  top->eval();
  top->seg_i = 1;
  while (!top->done_o && !ctx->gotFinish()) {
    top->clk_i = 1; top->eval();
    top->clk_i = 0; top->eval();
  }
  std::printf("SAMPLED %u\n", top->n_smp_o);
  std::printf("LAST_VLD %u\n", top->last_vld_o);
  print_wide("SIG_ACC", top->sig_acc_o, sizeof(top->sig_acc_o) / 4);
  print_wide("SIG_RES", top->sig_res_o, sizeof(top->sig_res_o) / 4);
  print_wide("SIG_VLD", top->sig_vld_o, sizeof(top->sig_vld_o) / 4);
  top->final();
  return 0;
}
