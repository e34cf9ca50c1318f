"""The ``xcosmo sbi`` commands: ``train`` (compressor and NPE on a campaign store), ``sample`` (the posterior of one XOD
file, as netCDF) and ``diagnose`` (calibration and the paper's figures on the held-out simulations). Registered on the
application by :mod:`xcosmo.cli`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from xcosmo.cli_options import QUIET, speaker

__all__ = ["sbi_app"]

sbi_app = typer.Typer(help="Simulation-based inference: ResNet compression + mixture-density NPE, from a campaign.",
                      no_args_is_help=True)  # fmt: skip


@sbi_app.command("train")
def train_command(
    store: Path = typer.Argument(..., help="A campaign store (xcosmo campaign run) with at least 48 finished XODs."),
    out: Path = typer.Option(..., "--out", help="Folder for the checkpoints and the posterior (npe.eqx + npe.json); "
                             "an interrupted training there resumes."),  # fmt: skip
    loss: str = typer.Option("vmim", help="Compressor loss: vmim (unbiased) or mse (the paper's)."),
    summary: str = typer.Option("z-cr-hr", help="What of the XOD is learnt from (paper table 3): z-cr-hr (all of "
                                "it), cr-hr (summed over z), z-cr (summed over HR) or z (dn/dz)."),  # fmt: skip
    ensemble: int = typer.Option(1, help="MDNs trained from different seeds, mixed by validation log-likelihood."),
    poisson_resampling: bool = typer.Option(False, help="Train on fresh Poisson draws of the simulations' expected "
                                            "XODs every epoch (campaigns of the analytical and emulated-relation "
                                            "models)."),  # fmt: skip
    emulator_errors: int = typer.Option(1, help="With --poisson-resampling on a campaign of the emulated-relation "
                                        "model: each simulation's expected XOD under this many emulator errors, one "
                                        "picked at random per draw (1: the campaign's own)."),  # fmt: skip
    epochs: int = typer.Option(300, help="Most epochs of each training (early stopping usually ends them sooner)."),
    patience: int = typer.Option(20, help="Epochs without a better validation loss before a training stops."),
    seed: int = typer.Option(0, help="Seeds the networks' initial weights."),
    split_seed: int = typer.Option(0, help="Seeds the split train/validation/test/held-out (32:4:4:8)."),
    quiet: bool = QUIET,
):
    """Train the compressor and the NPE on a campaign's finished simulations (paper 3)."""
    import dataclasses

    from inference.sbi import NPESettings, SBIDataset, TrainSettings, fit_npe

    say = speaker(quiet)
    base = NPESettings()
    settings = NPESettings(
        loss=loss, summary=summary, ensemble=ensemble, poisson_resampling=poisson_resampling,
        emulator_errors=emulator_errors, seed=seed, split_seed=split_seed,
        compressor_training=dataclasses.replace(base.compressor_training, max_epochs=epochs, patience=patience),
        mdn_training=TrainSettings(**{**dataclasses.asdict(base.mdn_training), "max_epochs": epochs, "patience": patience}),
    )  # fmt: skip
    data = SBIDataset.from_store(store)
    posterior = fit_npe(data, settings, out=out, progress=not quiet)
    sizes = posterior.meta["sizes"]
    say(f"trained on {sizes['train']} XODs (validation {sizes['validation']}, test {sizes['test']}, held out "
        f"{sizes['heldout']}); wrote {out / 'npe.eqx'}")  # fmt: skip


@sbi_app.command("sample")
def sample_command(
    weights: Path = typer.Argument(..., help="A trained posterior (npe.eqx from xcosmo sbi train)."),
    xod: Path = typer.Option(..., "--xod", help="An XOD file (HDF5, xcosmo.xod.save_xod) of the campaign's survey."),
    out: Path = typer.Option(..., "--out", help="netCDF file for the draws (ArviZ reads it: az.from_netcdf)."),
    n: int = typer.Option(10_000, "-n", help="Posterior draws."),
    seed: int = typer.Option(0, help="Seed of the draws."),
    quiet: bool = QUIET,
):
    """Posterior draws of the parameters for one XOD, with their summary."""
    from inference.sbi import load_npe
    from xcosmo.io import atomic_path
    from xcosmo.xod import check_same_survey, load_xod, survey_binning_from_attrs

    say = speaker(quiet)
    posterior = load_npe(weights)
    stored = load_xod(xod)
    check_same_survey("xod", (stored.survey, stored.binning), survey_binning_from_attrs(posterior.meta["binning"]))
    ds = posterior.posterior_dataset(stored.counts, n, seed=seed)
    with atomic_path(out) as tmp:
        ds.to_netcdf(tmp)
    for name in posterior.names:
        q = ds[name].quantile([0.16, 0.5, 0.84]).values
        say(f"{name:>10}: {q[1]:.4g} +{q[2] - q[1]:.3g} -{q[1] - q[0]:.3g}  (68% interval)")
    say(f"wrote {n} draws to {out}")


@sbi_app.command("diagnose")
def diagnose_command(
    weights: Path = typer.Argument(..., help="A trained posterior (npe.eqx)."),
    store: Path = typer.Option(..., "--store", help="The campaign store it was trained on."),
    out: Path = typer.Option(..., "--out", help="Folder for diagnostics.json and the figures."),
    draws: int = typer.Option(1000, help="Posterior draws per XOD."),
    max_xods: Optional[int] = typer.Option(None, help="Use at most this many held-out XODs."),
    split: str = typer.Option("heldout", help="heldout (never seen in training) or test."),
    quiet: bool = QUIET,
):
    """SBC ranks, coverage, TARP, widths, the regression of figure 8 and the gallery of figure 9."""
    from inference.sbi import SBIDataset, load_npe
    from inference.sbi.diagnose import diagnose

    say = speaker(quiet)
    data = SBIDataset.from_store(store)
    posterior = load_npe(weights, binning=data.binning)
    report = diagnose(posterior, data, out=out, n_draws=draws, max_xods=max_xods, split=split, progress=not quiet)
    say(f"{report['n_xods']} {split} XODs, {draws} draws each; compressor loss {report['loss']}")
    for name in posterior.names:
        say(f"{name:>10}: SBC KS p = {report['sbc_ks_pvalue'][name]:.3g}, posterior/prior width "
            f"{report['width_over_prior'][name]:.3f}")  # fmt: skip
    say(f"TARP largest deviation from the diagonal: {report['tarp']['max_deviation']:.3f}")
    if "fom_median" in report:
        say(f"median FoM(Omega_m, sigma_8) = {report['fom_median']:.3g}; 68% half-widths "
            f"{json.dumps({k: round(v, 4) for k, v in report['half_width_68'].items()})}")  # fmt: skip
    say(f"wrote {out / 'diagnostics.json'} and figures")
