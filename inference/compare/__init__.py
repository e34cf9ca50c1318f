"""The head-to-head study of the paper's conclusion (5.1, 5.2, figures 10-12, table 3): on one survey and binning,
the analytical model (2 + 6), the emulated-relation model (2 + 4) and the simulation-based model (2 + 4, NPE),
their constraints on cosmology and their degeneracies with the other parameters, and the summary statistics of
table 3.

- :mod:`~inference.compare.settings`: what is run (:class:`CompareSettings`, presets ``cpu`` and ``gpu``);
- :mod:`~inference.compare.measures`: errors, correlations, FoM, degeneracy, from draws or a Fisher matrix;
- :mod:`~inference.compare.explicit`: Fisher and NUTS of the two explicit models;
- :mod:`~inference.compare.simulated`: the campaign and the NPEs;
- :mod:`~inference.compare.report`: tables and figures;
- :mod:`~inference.compare.study`: :func:`run_comparison`, all of it, resumable.
"""

from inference.compare.settings import COMPARE_PRESETS, CompareSettings, compare_preset
from inference.compare.study import run_comparison

__all__ = ["CompareSettings", "COMPARE_PRESETS", "compare_preset", "run_comparison"]
