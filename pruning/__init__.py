"""systolic.pruning: CNN pruning methods (Network Slimming, AutoPruner, SE, ShuffleNet), physical
channel removal, save/load of pruned models, and lowering of conv/linear layers to GEMM shapes."""
