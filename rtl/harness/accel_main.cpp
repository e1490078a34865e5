// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// Verilator main of systolic_accel_bench (no Python): +M= +K= +N= +MAXCYC= (or +BEATS_IN=
// +BEATS_OUT= with the files), then the same report
// as the Icarus testbench in systolic_accel_bench.v (DONE, CYCLES, BEATS, ERRORS, SIG).
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "Vsystolic_accel_bench.h"
#include "verilated.h"

static unsigned long long plusarg(VerilatedContext &ctx, const char *name, unsigned long long dflt) {
  std::string match = ctx.commandArgsPlusMatch(name);
  const char *eq = std::strchr(match.c_str(), '=');
  return eq ? std::strtoull(eq + 1, nullptr, 10) : dflt;
}

static void tick(Vsystolic_accel_bench &top) {
  top.clk_i = 1;
  top.eval();
  top.clk_i = 0;
  top.eval();
}

int main(int argc, char **argv) {
  auto ctx = std::make_unique<VerilatedContext>();
  ctx->commandArgs(argc, argv);
  auto top = std::make_unique<Vsystolic_accel_bench>(ctx.get());
  top->m_i = plusarg(*ctx, "M=", 1);
  top->k_i = plusarg(*ctx, "K=", 1);
  top->n_i = plusarg(*ctx, "N=", 1);
  unsigned long long maxcyc = plusarg(*ctx, "MAXCYC=", 1000000);
  top->beats_in_i = plusarg(*ctx, "BEATS_IN=", 0);
  top->beats_out_i = plusarg(*ctx, "BEATS_OUT=", 0);
  top->files_i = top->beats_in_i != 0;
  top->clk_i = 0;
  top->rst_ni = 0;
  top->eval();
  tick(*top);
  tick(*top);
  top->rst_ni = 1;
  top->eval();
  for (unsigned long long c = 0; !top->done_o && c < maxcyc; ++c) tick(*top);
  tick(*top);  // beats beyond the last are counted as errors
  tick(*top);
  std::printf("DONE %d\n", static_cast<int>(top->done_o));
  std::printf("CYCLES %" PRIu64 "\n", static_cast<uint64_t>(top->cycles_o));
  std::printf("BEATS %" PRIu64 "\n", static_cast<uint64_t>(top->beats_o));
  std::printf("ERRORS %u\n", static_cast<unsigned>(top->errors_o));
  std::printf("SIG %016" PRIx64 "\n", static_cast<uint64_t>(top->sig_o));
  top->final();
  return 0;
}
