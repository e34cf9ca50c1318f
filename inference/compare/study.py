"""The head-to-head study in one call (:func:`run_comparison`; ``xcosmo compare --out DIR``).

At every point of :class:`~inference.compare.settings.CompareSettings`:

- the analytical model (2 + 6) and the emulated-relation model (2 + 4): Fisher matrices and NUTS posteriors on their
  Asimov XODs (:mod:`inference.compare.explicit`);
- the simulation-based model (2 + 4): the NPE of the full XOD (seed 0), trained on emulated-relation XODs
  (:mod:`inference.compare.simulated`), on the emulated-relation model's Asimov XOD at the point; with
  ``light_cones``, also the NPE trained on those simulated light cones, on one light cone simulated at the point with
  the campaign's own simulator (seed :data:`LIGHT_CONE_SEED` + the point's number);

then table 3 at the fiducial point: for every summary statistic, the NPE's FoM and 68% half-widths of Omega_m and
sigma_8 over its seeds (mean and standard deviation), its calibration (the smallest SBC p-value over the parameters),
and the two explicit models' Fisher forecasts on the same statistic. The degeneracy measure of
:func:`inference.compare.measures.degeneracy` decides whether the paper's conclusion holds here: the physical models'
largest |correlation| between cosmology and another parameter below the analytical model's.

Everything lands in ``out``: the campaign store, each NPE's folder (checkpoints, weights, diagnostics), the NUTS
chains, ``report.json``, ``report.md`` and the figures of :mod:`inference.compare.report`. Each piece is kept as it is
finished, so that a second call resumes where the first stopped.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from inference.compare import explicit, report, simulated
from inference.compare.measures import degeneracy, from_draws, from_fisher
from inference.compare.settings import CompareSettings

__all__ = ["run_comparison", "LIGHT_CONE_SEED"]

LIGHT_CONE_SEED = 2**31
"""Seed of the light cone simulated at the first point (then + 1 per point): a stream no campaign draws from."""


def _entry(measures: dict, draws: np.ndarray | None = None, **extra) -> dict:
    entry = {**measures, "degeneracy": degeneracy(measures), **extra}
    if draws is not None:
        entry["draws"] = draws
    return entry


def run_comparison(out, settings: CompareSettings | None = None, *, progress: bool = True) -> dict:
    """Run (or resume) the study of the module docstring in the folder ``out``; returns the report (what
    ``report.json`` holds)."""
    from tqdm.auto import tqdm

    from inference.emulated import asimov_data
    from inference.sbi import SBIDataset
    from xcosmo.io import atomic_path, ensure_writable_dir

    settings = CompareSettings() if settings is None else settings
    out = ensure_writable_dir(Path(out))
    ensure_writable_dir(out / "nuts")
    theta = settings.theta
    say = tqdm.write if progress else (lambda *_: None)

    say(f"campaign of {settings.n_simulations} emulated-relation XODs")
    store = simulated.campaign(out / "store", settings.n_simulations, seed=settings.seed, workers=settings.workers,
                               progress=progress)  # fmt: skip
    data = SBIDataset.from_store(store)
    npes, calibrations = {}, {}
    for summary in settings.summaries:
        for seed in range(settings.npe_seeds):
            folder = out / "npe" / f"{summary}-{seed}"
            say(f"NPE of the {summary} statistic, seed {seed}")
            npe = simulated.trained_npe(data, folder, dataclasses.replace(settings.npe, summary=summary, seed=seed),
                                        progress=progress)  # fmt: skip
            npes[summary, seed] = npe
            calibrations[summary, seed] = simulated.calibration(npe, data, folder / "diagnose",
                                                                n_xods=settings.sbc_xods)  # fmt: skip

    light_cones = _light_cones(settings, out, say, progress) if settings.light_cones else None

    points, xods = [], [asimov_data(explicit.emulated_model(), point) for point in theta]
    for k, (point, xod) in enumerate(zip(theta, xods)):
        posteriors = {}
        for model in explicit.MODELS:
            say(f"point {k}: {model} model, Fisher and NUTS")
            posteriors[f"{model} Fisher"] = _entry(from_fisher(explicit.fisher(model, point)))
            nuts = dataclasses.replace(settings.nuts, seed=k, neutra=getattr(settings, f"{model}_neutra"))
            draws, names, diag = explicit.nuts(model, point, nuts, out / "nuts" / f"{model}-{k}.nc")
            posteriors[f"{model} NUTS"] = _entry(from_draws(draws, names), draws, diagnostics=diag)
        draws, names = simulated.npe_draws(npes["z-cr-hr", 0], xod, settings.draws, seed=k)
        posteriors["NPE"] = _entry(from_draws(draws, names), draws)
        if light_cones:
            lc_xod = simulated.simulated_xod(light_cones["simulator"], point, LIGHT_CONE_SEED + k,
                                             out / "npe" / "light-cones" / f"xod-{k}.npy")  # fmt: skip
            draws, names = simulated.npe_draws(light_cones["npe"], lc_xod, settings.draws, seed=k)
            posteriors["NPE (light cones)"] = _entry(from_draws(draws, names), draws)
        points.append({"theta": point.tolist(), "posteriors": posteriors})
        physical = {k_: v for k_, v in posteriors.items() if not k_.startswith("analytic")}
        report.corner_figure(physical, list(names), point, out / f"corner_{k}.png")
        report.cosmology_figure(posteriors, point[:2], out / f"cosmology_{k}.png", title=f"point {k}")

    table3, figure12 = {}, {}
    for summary in settings.summaries:
        rows = []
        for seed in range(settings.npe_seeds):
            draws, names = simulated.npe_draws(npes[summary, seed], xods[0], settings.draws, seed=seed)
            m = from_draws(draws, names)
            rows.append((m["fom"], m["half_width_68"]["omega_m"], m["half_width_68"]["sigma_8"]))
            if seed == 0:
                figure12[summary] = {**m, "draws": draws}
        rows = np.array(rows)
        p_min = min(min(calibrations[summary, s]["sbc_ks_pvalue"].values()) for s in range(settings.npe_seeds))
        table3[summary] = {
            "npe": {"fom": [rows[:, 0].mean(), rows[:, 0].std()], "omega_m": [rows[:, 1].mean(), rows[:, 1].std()],
                    "sigma_8": [rows[:, 2].mean(), rows[:, 2].std()], "sbc_min_p": p_min, "seeds": len(rows)},
            **{f"{model} Fisher": from_fisher(explicit.fisher(model, theta[0], summary)) for model in explicit.MODELS},
        }  # fmt: skip
    report.cosmology_figure(figure12, theta[0, :2], out / "figure12.png", title="NPE per summary statistic")

    fid = points[0]["posteriors"]
    analytic = fid["analytic NUTS"]["degeneracy"]["abs_correlation"]
    physical = max(fid[k]["degeneracy"]["abs_correlation"] for k in ("emulated NUTS", "NPE"))
    result = {
        "settings": settings.as_dict(),
        "training_set": f"{data.n} Poisson XODs of the emulated-relation model (campaign {store}; "
                        f"{npes['z-cr-hr', 0].meta['sizes']['train']} in the training split), not light cones",
        "points": [{"theta": p["theta"], "posteriors": {k: {k_: v for k_, v in e.items() if k_ != "draws"}
                                                        for k, e in p["posteriors"].items()}} for p in points],
        "table3": table3,
        "calibration": {f"{s}-{seed}": c["sbc_ks_pvalue"] for (s, seed), c in calibrations.items()},
        "sbc_xods": calibrations["z-cr-hr", 0]["n_xods"],
        **({"light_cones": light_cones["report"]} if light_cones else {}),
        "conclusion": {"analytic": analytic, "physical": physical, "holds": bool(physical < analytic)},
    }  # fmt: skip
    with atomic_path(out / "report.json") as tmp:
        tmp.write_text(json.dumps(result, indent=1, default=float))
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(report.markdown(result))
    return result


def _light_cones(settings: CompareSettings, out: Path, say, progress: bool) -> dict:
    """The NPE of the full XOD trained on the light-cone campaign ``settings.light_cones``, its calibration, and the
    campaign's simulator (which makes the light cone the NPE is shown on at each point)."""
    from xcosmo.campaign.simulators import simulator_from_spec

    data = simulated.light_cone_data(settings.light_cones)
    folder = out / "npe" / "light-cones"
    say(f"NPE of the full XOD on {data.n} simulated light cones ({settings.light_cones})")
    npe = simulated.trained_npe(data, folder, dataclasses.replace(settings.npe, summary="z-cr-hr", seed=0,
                                                                  poisson_resampling=False, emulator_errors=1),
                                progress=progress)  # fmt: skip
    calibration = simulated.calibration(npe, data, folder / "diagnose", n_xods=settings.sbc_xods)
    report = {"store": settings.light_cones, "n": data.n, "train": npe.meta["sizes"]["train"],
              "area_deg2": data.binning["survey"]["area_deg2"], "sbc_ks_pvalue": calibration["sbc_ks_pvalue"]}
    return {"npe": npe, "simulator": simulator_from_spec(data.spec), "report": report}
