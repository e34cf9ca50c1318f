"""The result of a run: the chains as an ``xarray.DataTree`` in ArviZ's layout, its attributes, and its files.

Groups and variables (ArviZ's names):

- ``posterior``: one variable per latent sample site and per ``numpyro.deterministic`` site, in the model's units,
  dims ``(chain, draw, <name>_dim_0, ...)``;
- ``sample_stats``: ``diverging`` (bool), ``n_steps`` (leapfrog steps of the draw, int), ``acceptance_rate``
  (mean Metropolis acceptance probability over the trajectory), ``step_size`` (the adapted one), ``lp`` (log
  density of the draw in the unconstrained space, Jacobian included, up to a constant) and ``energy`` (Hamiltonian);
- root attributes (:func:`run_attrs`): ``backend``, ``chain_method``, ``num_warmup``, ``num_samples``,
  ``num_chains``, ``seed``, ``target_accept``, ``dense_mass`` (0/1), ``wall_time_s`` and ``compile_time_s`` (s),
  ``n_grad_evals`` (= flow fit + warm-up + sampling), ``n_grad_evals_warmup``, ``n_grad_evals_sampling``,
  ``neutra`` (0/1), ``n_grad_evals_neutra`` (the flow fit's, included in ``n_grad_evals``), ``neutra_loss``,
  ``neutra_ess_fraction``, ``neutra_pareto_k`` and ``neutra_log_weight_variance`` (the flow's check,
  :func:`inference.neutra.flow_check`),
  ``neutra_fits``, ``neutra_wall_time_s`` (the fits and checks with their compilation, which ``wall_time_s`` leaves
  to ``compile_time_s``),
  ``model``, ``device``, ``x64`` (1: the samplers run in float64), ``xcosmo_version``, ``inference_library`` and
  ``inference_library_version``, ``created_at`` (UTC, ISO 8601).

:func:`save_chains` / :func:`load_chains` write and read it as netCDF-4 (HDF5), the file ArviZ writes.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import numpy as np
import xarray as xr

from xcosmo.checks import check_type, described, require

from xcosmo.io import atomic_path, ensure_writable_dir

if TYPE_CHECKING:
    from inference.mcmc.settings import NUTSSettings
    from inference.neutra import NeuTra

__all__ = ["Draws", "run_attrs", "to_tree", "posterior_of", "components", "save_chains", "load_chains"]

SAMPLE_STATS = ("diverging", "n_steps", "acceptance_rate", "step_size", "lp", "energy")
"""The ``sample_stats`` variables every backend reports, arrays of shape (chain, draw)."""


@dataclasses.dataclass(frozen=True)
class Draws:
    """What a backend returns: constrained ``samples`` and :data:`SAMPLE_STATS` ``stats`` (numpy, leading axes
    (chain, draw)), the leapfrog steps of warm-up (all chains) and the ``chain_method`` it used."""

    samples: Mapping[str, np.ndarray]
    stats: Mapping[str, np.ndarray]
    n_grad_evals_warmup: int
    chain_method: str


def run_attrs(
    settings: NUTSSettings,
    draws: Draws,
    model: Callable,
    flow: NeuTra | None,
    elapsed_s: float,
    compile_s: float,
) -> dict[str, Any]:
    """The root attributes of a run (module docstring); ``elapsed_s`` is its wall time, compilation included."""
    import xcosmo

    steps_sampling = int(np.sum(draws.stats["n_steps"], dtype=np.int64))
    steps_neutra = 0 if flow is None else flow.n_grad_evals
    compile_s = min(compile_s, elapsed_s)
    return {
        "backend": settings.backend,
        "chain_method": draws.chain_method,
        "num_warmup": settings.num_warmup,
        "num_samples": settings.num_samples,
        "num_chains": settings.num_chains,
        "seed": settings.seed,
        "target_accept": settings.target_accept,
        "dense_mass": int(settings.dense_mass),
        "wall_time_s": elapsed_s - compile_s,
        "compile_time_s": compile_s,
        "n_grad_evals": steps_neutra + draws.n_grad_evals_warmup + steps_sampling,
        "n_grad_evals_warmup": draws.n_grad_evals_warmup,
        "n_grad_evals_sampling": steps_sampling,
        "neutra": int(flow is not None),
        "n_grad_evals_neutra": steps_neutra,
        "neutra_loss": math.nan if flow is None else float(flow.losses[-1]),
        "neutra_ess_fraction": math.nan if flow is None else float(flow.check.get("ess_fraction", math.nan)),
        "neutra_pareto_k": math.nan if flow is None else float(flow.check.get("pareto_k", math.nan)),
        "neutra_log_weight_variance": math.nan if flow is None else float(flow.check.get("log_weight_variance", math.nan)),
        "neutra_fits": 0 if flow is None else max(1, len(flow.checks)),
        "neutra_wall_time_s": 0.0 if flow is None else float(flow.wall_time_s),
        "model": getattr(model, "__qualname__", type(model).__name__),
        "device": jax.default_backend(),
        "x64": int(jax.config.jax_enable_x64),
        "xcosmo_version": xcosmo.__version__,
        "inference_library": settings.backend,
        "inference_library_version": importlib.metadata.version(settings.backend),
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _dataset(arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any]) -> xr.Dataset:
    data_vars = {}
    for name, value in arrays.items():
        value = np.asarray(value)
        data_vars[name] = (("chain", "draw", *(f"{name}_dim_{i}" for i in range(value.ndim - 2))), value)
    n_chain, n_draw = np.shape(next(iter(arrays.values())))[:2]
    return xr.Dataset(data_vars, coords={"chain": np.arange(n_chain), "draw": np.arange(n_draw)}, attrs=dict(attrs))


def to_tree(draws: Draws, attrs: Mapping[str, Any], order: Sequence[str]) -> xr.DataTree:
    """The DataTree of a run: posterior variables in ``order`` (then any others, sorted), the sample stats, attrs."""
    names = [n for n in order if n in draws.samples] + sorted(set(draws.samples) - set(order))
    stats = dict(draws.stats)
    stats["diverging"] = np.asarray(stats["diverging"]).astype(bool)
    stats["n_steps"] = np.asarray(stats["n_steps"]).astype(np.int64)
    group_attrs = {k: attrs[k] for k in ("backend", "inference_library", "inference_library_version", "created_at")}
    return xr.DataTree.from_dict(
        {
            "/": xr.Dataset(attrs=dict(attrs)),
            "posterior": _dataset({n: draws.samples[n] for n in names}, group_attrs),
            "sample_stats": _dataset({k: stats[k] for k in SAMPLE_STATS}, group_attrs),
        }
    )


# --------------------------------------------------------------------------------------------------------------------
# reading the posterior (for summaries and plots)
# --------------------------------------------------------------------------------------------------------------------
def _require_tree(tree: Any) -> None:
    check_type("tree", tree, xr.DataTree, "an xarray.DataTree (from run_nuts)")


def posterior_of(tree: xr.DataTree, var_names: Sequence[str] | None) -> tuple[xr.Dataset, list[str]]:
    """The ``posterior`` group of a run as a Dataset, and the selected variable names (default: all)."""
    _require_tree(tree)
    require("posterior" in tree.children, "tree", described(f"a DataTree with groups {list(tree.children)}"),
            "expected a 'posterior' group (from run_nuts)")  # fmt: skip
    posterior = tree["posterior"].to_dataset()
    available = list(posterior.data_vars)
    if var_names is None:
        return posterior, available
    if isinstance(var_names, str):
        var_names = [var_names]
    unknown = [v for v in var_names if v not in available]
    require(bool(var_names) and not unknown, "var_names", list(var_names),
            f"unknown {unknown}; the posterior holds {available}")  # fmt: skip
    return posterior, list(var_names)


def components(name: str, shape: tuple[int, ...]) -> Iterator[tuple[str, tuple[int, ...]]]:
    """``(label, index)`` of each scalar component of a variable of event ``shape``: ``("mu[0]", (0,))``, ...;
    ``(name, ())`` for a scalar."""
    if not shape:
        yield name, ()
        return
    for index in np.ndindex(shape):
        yield f"{name}[{','.join(map(str, index))}]", index


def elements(posterior: xr.Dataset, var_names: Sequence[str]) -> list[tuple[str, np.ndarray]]:
    """Each scalar component of the selected variables as ``(label, array (chain, draw))``, float64."""
    out = []
    for name in var_names:
        values = np.asarray(posterior[name].values, dtype=np.float64)
        out += [(label, values[(slice(None), slice(None), *i)]) for label, i in components(name, values.shape[2:])]
    return out


# --------------------------------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------------------------------
def save_chains(tree: xr.DataTree, path: str | os.PathLike) -> Path:
    """Write a :func:`~inference.mcmc.run_nuts` DataTree to a netCDF-4 (HDF5) file, atomically (h5netcdf engine);
    return the path.

    The file is what ArviZ writes (one HDF5 group per DataTree group); ``diverging`` is stored as int8 with a bool
    flag that xarray decodes back to bool.
    """
    _require_tree(tree)
    path = Path(path)
    ensure_writable_dir(path.parent)
    with atomic_path(path) as tmp:
        tree.to_netcdf(tmp, engine="h5netcdf", mode="w")
    return path


def load_chains(path: str | os.PathLike) -> xr.DataTree:
    """Read a file written by :func:`save_chains` into memory (the file is closed on return).

    Raises ``FileNotFoundError`` if the file does not exist and ``ValueError`` if it is not a netCDF/HDF5 file with a
    ``posterior`` group.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"chain file {str(path)!r} not found")
    try:
        with xr.open_datatree(path, engine="h5netcdf") as opened:
            tree = opened.load().copy()
    except Exception as err:  # h5py/h5netcdf raise OSError, ValueError or their own types on corrupt files
        raise ValueError(f"chain file {str(path)!r} is not a readable netCDF/HDF5 chain file: {err}") from None
    if "posterior" not in tree.children:
        raise ValueError(f"chain file {str(path)!r} has no 'posterior' group (groups: {list(tree.children)})")
    return tree
