"""The summary statistics of paper table 3 and figure 12: the XOD or its marginals over one or two of its axes.

=============  ===========  =========================================================================================
summary        kept axes    the XOD (z, CR, HR) summed over
=============  ===========  =========================================================================================
``z-cr-hr``    z, CR, HR    nothing: the full XOD (the default)
``cr-hr``      CR, HR       redshift: the (CR, HR) number counts
``z-cr``       z, CR        hardness ratio: the paper's (CR, z) number counts
``z``          z            count rate and hardness ratio: dn/dz
=============  ===========  =========================================================================================

A summed axis is kept with length one, so that every summary is an array (n_z', n_cr', n_hr') that the compressor
reads as it reads an XOD (redshift bins as channels over the (CR, HR) plane; :mod:`inference.sbi.compressor`).
"""

from __future__ import annotations

import numpy as np

from xcosmo.checks import check_choice

__all__ = ["SUMMARIES", "summarise", "summary_shape"]

SUMMARIES = {"z-cr-hr": (), "cr-hr": (-3,), "z-cr": (-1,), "z": (-2, -1)}
"""Each summary's summed axes, counted from the last of an XOD (..., n_z, n_cr, n_hr)."""


def summarise(xods: np.ndarray, summary: str) -> np.ndarray:
    """The ``summary`` (module docstring) of XODs (..., n_z, n_cr, n_hr) of counts or expected counts (NumPy or JAX
    arrays, traceable): the same array with its summed axes of length one."""
    check_choice("summary", summary, tuple(SUMMARIES))
    xods = xods if hasattr(xods, "sum") else np.asarray(xods)
    return xods.sum(axis=SUMMARIES[summary], keepdims=True) if SUMMARIES[summary] else xods


def summary_shape(xod_shape: tuple[int, int, int], summary: str) -> tuple[int, int, int]:
    """The shape of the ``summary`` of one XOD of ``xod_shape``."""
    check_choice("summary", summary, tuple(SUMMARIES))
    axes = {a % 3 for a in SUMMARIES[summary]}
    return tuple(1 if i in axes else int(n) for i, n in enumerate(xod_shape))
