"""Fixed-width integer semantics shared by every model: wrap, range checks, lane packing.

Lane packing is part of the RTL interface: lane ``l`` of a packed bus of ``n`` lanes of ``width``
bits occupies bits ``[l*width +: width]`` (lane 0 in the least significant bits).
"""

from __future__ import annotations

import numpy as np

from systolic.errors import OperandError


def wrap(values: np.ndarray, width: int) -> np.ndarray:
    """Reduce int64 values modulo 2**width into signed two's-complement range (width <= 64)."""
    values = np.asarray(values, dtype=np.int64)
    if width >= 64:
        return values  # int64 arithmetic already wraps modulo 2**64
    return _sign_extend(values.astype(np.uint64), width)


def _sign_extend(u: np.ndarray, width: int) -> np.ndarray:
    """The low ``width`` bits of uint64 values as signed int64 (1 <= width <= 64).

    Shifting the sign bit to bit 63 and back (arithmetic shift) never forms 2**width, which does
    not fit int64 for width 63.
    """
    shift = 64 - width
    out: np.ndarray = (u << np.uint64(shift)).view(np.int64) >> np.int64(shift)
    return out


def check_int_matrix(name: str, x: object, data_w: int) -> np.ndarray:
    """Validate an operand matrix: 2-D, integer dtype, every value a signed data_w-bit number."""
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise OperandError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise OperandError(f"{name} must have an integer dtype, got {arr.dtype}")
    if 0 in arr.shape:
        raise OperandError(f"{name} has an empty dimension: shape {arr.shape}")
    lo, hi = -(1 << (data_w - 1)), (1 << (data_w - 1)) - 1
    if arr.min() < lo or arr.max() > hi:
        bad = arr[(arr < lo) | (arr > hi)].flat[0]
        raise OperandError(
            f"{name} holds {int(bad)}, outside the signed {data_w}-bit range {lo}..{hi}"
        )
    return arr.astype(np.int64)


def pack_lanes(values: np.ndarray, width: int) -> list[int]:
    """Pack rows of lanes into bus ints: values (T, n) -> T non-negative ints of n*width bits."""
    values = np.atleast_2d(np.asarray(values, dtype=np.int64))
    if width in (8, 16, 32, 64):
        raw = values.astype(f"<i{width // 8}").view(np.uint8).reshape(values.shape[0], -1)
    else:
        raw = np.packbits(lane_bits(values, width), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in raw]


def lane_bits(values: np.ndarray, width: int) -> np.ndarray:
    """Rows of lanes as bits: values (T, n) -> uint8 (T, n*width), lane 0's LSB first."""
    values = np.atleast_2d(np.asarray(values, dtype=np.int64))
    u = values.astype(np.uint64) & np.uint64((1 << width) - 1)
    bits: np.ndarray = (u[:, :, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)
    return bits.astype(np.uint8).reshape(values.shape[0], -1)


def pack_bits(flags: np.ndarray) -> list[int]:
    """Pack rows of booleans (T, n) into ints, lane 0 in bit 0."""
    return pack_lanes(np.asarray(flags, dtype=np.int64), 1)


def unpack_lanes(value: int, n: int, width: int, signed: bool = True) -> np.ndarray:
    """Unpack one bus integer into n lanes of width bits (int64; sign-extended when signed)."""
    nbytes = (n * width + 7) // 8
    raw = np.frombuffer(value.to_bytes(nbytes, "little"), dtype=np.uint8)
    if width in (8, 16, 32, 64):
        out = raw.view(f"<{'i' if signed else 'u'}{width // 8}").astype(np.int64)
        return out
    bits = np.unpackbits(raw, bitorder="little")[: n * width].reshape(n, width)
    u = bits.astype(np.uint64) @ (np.uint64(1) << np.arange(width, dtype=np.uint64))
    return _sign_extend(u, width) if signed else u.astype(np.int64)
