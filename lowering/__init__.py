"""systolic.lowering: CNN layers to integer GEMMs for the array.

BN folding (``fold``), symmetric int8 quantization and requantization (``quant``), and im2col
lowering of convolutions (padding, stride, dilation, groups) and linear layers (``im2col``).
"""
