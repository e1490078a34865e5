"""systolic.waves: reading, summarizing and rendering the array's waveforms."""
