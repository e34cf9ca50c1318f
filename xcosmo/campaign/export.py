"""A campaign's finished simulations as an xarray Dataset (netCDF), the input of simulation-based inference.

Dimensions ``sim`` (the done simulations, in index order), ``param``, ``z``, ``cr`` and ``hr`` (bin centres: the mean
of the edges in z, the geometric mean in CR and HR); variables ``theta`` (sim, param), ``xod`` (sim, z, cr, hr;
counts), ``seed``, ``index`` (the simulation's index in the campaign) and ``n_clusters``; attributes: the bin edges,
the survey, the campaign's config and simulator (JSON) and the package version.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from xcosmo.campaign.store import DONE, CampaignStore
from xcosmo.checks import fail

__all__ = ["campaign_dataset", "export_campaign"]


def campaign_dataset(store: CampaignStore):
    """The done simulations of ``store`` as an ``xarray.Dataset`` (module docstring)."""
    import xarray as xr

    attrs = store.attrs
    if "binning" not in attrs:
        fail("store", str(store.path), f"a campaign of XODs (this one's simulator, {attrs['simulator']['name']!r}, "
                                       "stores something else)")  # fmt: skip
    rec = store.records()
    done = np.flatnonzero(rec[:, 0].astype(int) == DONE)
    edges = {k: np.asarray(v) for k, v in attrs["binning"].items()}
    centres = {"z": 0.5 * (edges["z_edges"][1:] + edges["z_edges"][:-1]),
               "cr": np.sqrt(edges["cr_edges"][1:] * edges["cr_edges"][:-1]),
               "hr": np.sqrt(edges["hr_edges"][1:] * edges["hr_edges"][:-1])}  # fmt: skip
    xod = store.xods(done)
    ds = xr.Dataset(
        {"theta": (("sim", "param"), store.theta[done]),
         "xod": (("sim", "z", "cr", "hr"), xod, {"units": "counts", "long_name": "clusters per (z, CR, HR) bin"}),
         "seed": ("sim", store.seeds[done]),
         "index": ("sim", done),
         "n_clusters": ("sim", rec[done, 2].astype(np.int64))},
        coords={"param": list(attrs["param_names"]), **centres},
        attrs={**{k: v for k, v in edges.items()}, "survey": json.dumps(attrs["survey"]),
               "config": json.dumps(attrs["config"]), "simulator": json.dumps(attrs["simulator"]),
               "xcosmo_version": attrs["xcosmo_version"]},
    )  # fmt: skip
    ds["cr"].attrs["units"] = "counts/s ([0.5-2] keV)"
    return ds


def export_campaign(path: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the done simulations of the store at ``path`` to the netCDF file ``out`` (atomically); returns ``out``."""
    from xcosmo.io import atomic_path

    ds = campaign_dataset(CampaignStore.open(path))
    out = Path(out)
    with atomic_path(out) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return out
