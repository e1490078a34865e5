"""systolic.bench: hardware-efficiency and simulation-throughput benchmarks."""
