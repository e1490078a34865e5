"""Read the array's PE state back from a VCD (kept for the core's imports; see systolic.waves)."""

from __future__ import annotations

from systolic.waves.vcd import ArrayWaves, WaveError, declarations, open_waveform

__all__ = ["ArrayWaves", "WaveError", "declarations", "open_waveform"]
