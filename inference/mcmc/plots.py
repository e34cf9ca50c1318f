"""Corner plot of a run's posterior (``corner`` package, matplotlib's object API: no global backend is set)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from inference.mcmc.chains import elements, posterior_of
from xcosmo.checks import require
from xcosmo.io import atomic_path, ensure_writable_dir

__all__ = ["corner_plot"]


def _flat_truths(truths, posterior: xr.Dataset, names: list[str], labels: list[str]) -> list | None:
    """``truths`` as one value (or ``None``: no line) per plotted component."""
    if truths is None:
        return None
    if not isinstance(truths, Mapping):
        truths = list(truths)
        require(len(truths) == len(labels), "truths", truths, f"expected {len(labels)} values, one per plotted "
                f"component {labels}")  # fmt: skip
        return truths
    unknown = sorted(set(truths) - set(names))
    require(not unknown, "truths", truths, f"unknown variable(s) {unknown}; the plotted variables are {names}")
    flat = []
    for name in names:
        shape, value = posterior[name].shape[2:], truths.get(name)
        if value is None:
            flat += [None] * math.prod(shape)
        else:
            flat += list(np.broadcast_to(np.asarray(value, dtype=float), shape).ravel())
    return flat


def corner_plot(
    tree: xr.DataTree,
    path: str | os.PathLike,
    var_names: Sequence[str] | None = None,
    truths: Mapping[str, Any] | Sequence[float] | None = None,
) -> Path:
    """Corner plot (``corner`` package) of the posterior, written atomically as PNG; return the path.

    Parameters
    ----------
    tree : a :func:`~inference.mcmc.run_nuts` DataTree; all chains are pooled.
    path : output PNG file.
    var_names : posterior variables to show (default: all); vector variables give one panel per component.
    truths : reference values drawn as lines: ``{variable: value}`` (array-valued for vector variables; missing
        variables get no line) or one number per plotted component, in order.
    """
    import corner
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    posterior, names = posterior_of(tree, var_names)
    parts = elements(posterior, names)
    labels = [label for label, _ in parts]
    samples = np.stack([values.reshape(-1) for _, values in parts], axis=-1)
    truths = _flat_truths(truths, posterior, names, labels)
    path = Path(path)
    ensure_writable_dir(path.parent)
    fig = Figure(figsize=(2.2 * len(labels) + 0.8,) * 2)
    FigureCanvasAgg(fig)
    lo, hi = samples.min(axis=0), samples.max(axis=0)
    ranges = [(a, b) if b > a else (a - 0.5 * abs(a) - 0.5, b + 0.5 * abs(b) + 0.5) for a, b in zip(lo, hi)]
    corner.corner(samples, labels=labels, truths=truths, range=ranges, fig=fig, show_titles=True, title_fmt=".3g")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return path
