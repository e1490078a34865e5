"""systolic.pruning: CNN pruning methods (Network Slimming, AutoPruner, SE, ShuffleNet) and lowering."""
