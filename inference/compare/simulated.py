"""The simulation-based side of the comparison: NPEs learnt from Poisson XODs of the emulated-relation model.

The paper trains its NPE on 48 000 light cones; this CPU makes 23 per hour, so the study's NPEs learn from an
``emulated`` campaign (:mod:`emulators.scaling.xods`: the same 2 + 4 physical parameters, each XOD a Poisson draw with
the emulator's error drawn afresh), and the outputs say so. A light-cone campaign can be given instead where one exists
(:func:`light_cone_data`), and its size is reported.

- :func:`campaign`: the campaign store (created or resumed);
- :func:`light_cone_data`: the XODs of a light-cone campaign, refused unless they are light cones;
- :func:`simulated_xod`: one XOD of a campaign's simulator at a point, cached;
- :func:`trained_npe`: one NPE per (summary statistic, seed), each in its own folder, resumed from its checkpoints;
- :func:`calibration`: SBC and coverage of an NPE on held-out XODs (:func:`inference.sbi.diagnose.diagnose`), cached;
- :func:`npe_draws`: posterior draws of an NPE for one XOD, in the parameters' units.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["campaign", "light_cone_data", "simulated_xod", "trained_npe", "calibration", "npe_draws"]


def campaign(store: Path, n: int, *, seed: int, workers: int, progress: bool) -> Path:
    """The ``emulated`` campaign of ``n`` XODs in ``store``, run or resumed to the end."""
    from xcosmo.campaign import campaign_preset, run_campaign

    config = None if Path(store).exists() else campaign_preset("emulated", n, seed=seed)
    summary = run_campaign(store, config, workers=workers, progress=progress)
    if summary["failed"]:
        raise RuntimeError(f"{summary['failed']} simulations of {store} failed: `xcosmo campaign status {store}`")
    return Path(store)


def light_cone_data(store):
    """The :class:`inference.sbi.SBIDataset` of the light-cone campaign ``store`` (simulator ``lightcone``)."""
    from inference.sbi import SBIDataset
    from xcosmo.checks import fail

    data = SBIDataset.from_store(store)
    if data.spec.get("name") != "lightcone":
        fail("light_cones", str(store), f"a campaign of simulated light cones (simulator 'lightcone'), not of "
                                        f"{data.spec.get('name')!r} XODs")  # fmt: skip
    return data


def simulated_xod(simulator, theta: np.ndarray, seed: int, path: Path) -> np.ndarray:
    """The XOD ``simulator`` (a campaign simulator) makes at ``theta`` with ``seed``, kept at ``path`` (``.npy``) and
    read from there if present."""
    from xcosmo.io import atomic_path

    path = Path(path)
    if path.is_file():
        return np.load(path)
    xod = np.asarray(simulator(np.asarray(theta, np.float64), seed).xod)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, xod)
    return xod


def trained_npe(data, folder: Path, settings, *, progress: bool):
    """The NPE of ``settings`` (:class:`inference.sbi.NPESettings`) on ``data`` (:class:`inference.sbi.SBIDataset`),
    trained in ``folder`` (resumed there, or loaded when finished); finished weights of other settings are refused."""
    from inference.sbi import NPESettings, fit_npe, load_npe

    weights = Path(folder) / "npe.eqx"
    if not weights.is_file():
        return fit_npe(data, settings, out=folder, progress=progress)
    npe = load_npe(weights, binning=data.binning)
    if NPESettings.from_dict(npe.meta["settings"]) != settings:
        raise ValueError(f"the NPE in {str(folder)!r} was trained with other settings ({npe.meta['settings']}, not "
                         f"{settings.as_dict()}): remove the folder to train it again, or compare into another")
    return npe


def calibration(posterior, data, folder: Path, *, n_xods: int, n_draws: int = 1000) -> dict:
    """SBC Kolmogorov-Smirnov p-values, coverage and widths of ``posterior`` on at most ``n_xods`` held-out XODs of
    ``data`` (:func:`inference.sbi.diagnose.diagnose`, its figures in ``folder``), cached in ``folder`` for as many
    XODs and draws."""
    from inference.sbi.diagnose import diagnose

    report = Path(folder) / "diagnostics.json"
    if report.is_file():
        cached = json.loads(report.read_text())
        if cached["n_draws"] == n_draws and cached["n_xods"] == min(n_xods, cached["sizes"]["heldout"]):
            return cached
    return diagnose(posterior, data, out=folder, n_draws=n_draws, max_xods=n_xods)


def npe_draws(posterior, xod: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, tuple[str, ...]]:
    """``n`` posterior draws (n, p) for ``xod`` in the parameters' units, and their names."""
    return posterior.sample(xod, n, seed=seed)["theta"], posterior.names
