"""systolic.formal: formal proofs of the RTL with SymbiYosys (``systolic formal``, ``make formal``).

The properties live next to the RTL in ``rtl/formal/*_fv.sv``; :mod:`systolic.formal.run` holds
the task catalog, runs SymbiYosys, and offers a formal equivalence check of two RTL versions.
"""

from systolic.formal.run import ProofResult, prove, prove_equivalent

__all__ = ["ProofResult", "prove", "prove_equivalent"]
