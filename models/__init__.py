"""Reference models: golden GEMM, the skew/timing contract, a cycle-accurate array model, tiling."""

from systolic.models.array_model import ArrayModel, ArrayTrace, simulate
from systolic.models.gemm import check_operands, golden_gemm
from systolic.models.params import ArrayParams, TopParams
from systolic.models.skew import EdgeStimulus, Product, ScheduledProduct, Stream, deskew, schedule

__all__ = [
    "ArrayModel",
    "ArrayParams",
    "ArrayTrace",
    "EdgeStimulus",
    "Product",
    "ScheduledProduct",
    "Stream",
    "TopParams",
    "check_operands",
    "deskew",
    "golden_gemm",
    "schedule",
    "simulate",
]
