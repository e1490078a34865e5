"""systolic: verification environment for an output-stationary systolic array."""

__version__ = "0.1.0"
