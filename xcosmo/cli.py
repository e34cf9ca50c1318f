"""The ``xcosmo`` command line. This module, with the commands it registers from :mod:`xcosmo.cli_training`, is the
composition root: only they may import xcosmo, emulators and inference together.

Every refusal (bad input, a folder that cannot take the run) is reported as one line ``error: ...`` with exit status
2, before any expensive work; Ctrl-C ends a run with exit status 130 and keeps the output folder as it was
(:mod:`xcosmo.cli_errors`). Every command that writes a folder
writes it as one run (:mod:`xcosmo.runs`): ``run.json`` lists its files; ``--overwrite`` replaces an earlier run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from xcosmo.checks import check_integer
from xcosmo.cli_errors import RefusalsGroup
from xcosmo.cli_options import OMEGA_M, SIGMA_8, A_SN1, A_SN2, A_AGN1, A_AGN2, OUT_HELP, OVERWRITE, QUIET, check_seed, speaker
from xcosmo.cli_campaign import campaign_app
from xcosmo.cli_compare import compare
from xcosmo.cli_sbi import sbi_app
from xcosmo.cli_scaling import emulate_sr, scaling_app
from xcosmo.cli_training import make_training_set, train_ldl, validate_ldl, validate_suite

app = typer.Typer(
    cls=RefusalsGroup,
    help="xcosmo: forward models and inference for X-ray cluster surveys (Cerardi et al., XMM cluster cosmology VII).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from xcosmo import __version__

        typer.echo(f"xcosmo {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")):  # fmt: skip
    """xcosmo: forward models and inference for X-ray cluster surveys (Cerardi et al., XMM cluster cosmology VII)."""


@app.command()
def quickstart(
    out: str = typer.Option("quickstart-output", help=OUT_HELP),
    preset: str = typer.Option("quickstart", help="Simulation preset: tiny, quickstart, paper, or a .yaml file."),
    seed: int = typer.Option(0, help="Random seed of the initial conditions (0 <= seed < 2^32)."),
    omega_m: float = OMEGA_M,
    sigma_8: float = SIGMA_8,
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
):
    """Run the main job: a simulated light cone and the analytical model's expectation for the same survey.

    The simulation (JaxPM boxes, baryon painter, EPIC count-rate maps, sep detection) writes catalogue.fits, xod.h5,
    maps/ and previews/ into OUT; the analytical model (Tinker08 + scaling relations) writes analytic/; run.json lists
    every file once the run is complete.
    """
    from xcosmo.params import Params
    from xcosmo.runs import run_folder

    say = speaker(quiet)
    params = Params(omega_m, sigma_8)
    plan = _plan(params, seed, preset, {}, dry_run=False, say=say)
    meta = {"params": params.as_dict(), "seed": seed, "preset": plan.preset.name}
    with run_folder(out, command="quickstart", overwrite=overwrite, metadata=meta) as stage:
        result = _simulate_into(stage, plan, seed, quiet)
        expected = _analytic_counts_into(stage / "analytic", params, result.survey, result.binning, say)
    say(f"wrote {out}/catalogue.fits, xod.h5, maps/, previews/, analytic/, run.json")
    say(f"clusters in {result.survey.area_deg2:g} deg^2: simulated {len(result.catalogue)} (painter: "
        f"{type(result.painter).__name__}), analytical model {expected:.1f}")  # fmt: skip


def _plan(params, seed: int, preset: str, overrides: dict, dry_run: bool, say):
    """Validate everything a simulation needs and lay it out; refuse runs that do not fit the device."""
    from xcosmo.pipeline import plan_run
    from xcosmo.presets import load_preset

    check_seed(seed)
    chosen = load_preset(preset)
    if overrides:
        chosen = chosen.replace(**overrides)
    plan = plan_run(params, chosen)
    if dry_run:
        typer.echo(plan.describe())
    else:
        say(plan.describe())
    if not plan.fits:
        raise ValueError(f"the run needs {plan.memory_bytes / 2**30:.2f} GiB and only {plan.available_bytes / 2**30:.2f} "
                         f"GiB are available on {plan.device}: use a smaller area, larger voxels or a bigger device")  # fmt: skip
    return plan


def _simulate_into(stage: Path, plan, seed: int, quiet: bool):
    from xcosmo.outputs import write_survey_files
    from xcosmo.pipeline import simulate_survey

    result = simulate_survey(plan.params, seed, plan.preset, progress=not quiet)
    write_survey_files(result, stage)
    say = speaker(quiet)
    say("timings [s]: " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()))
    say(f"{len(result.catalogue)} clusters with CR[0.5-2] > {plan.preset.cr_min:g} c/s in {result.survey.area_deg2:g} deg^2")
    return result


@app.command()
def simulate(
    out: str = typer.Option("simulation-output", help=OUT_HELP),
    preset: str = typer.Option("quickstart", help="tiny, quickstart, paper, or a .yaml preset file."),
    seed: int = typer.Option(0, help="Random seed of the initial conditions (0 <= seed < 2^32)."),
    omega_m: float = OMEGA_M,
    sigma_8: float = SIGMA_8,
    a_sn1: float = A_SN1,
    a_sn2: float = A_SN2,
    a_agn1: float = A_AGN1,
    a_agn2: float = A_AGN2,
    area: Optional[float] = typer.Option(None, help="Override the light-cone area, deg^2."),
    voxel: Optional[float] = typer.Option(None, help="Override the voxel size, Mpc/h."),
    lightcones: Optional[int] = typer.Option(None, help="Override the number of light cones per XOD."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print particle counts and memory needs, run nothing."),
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
):
    """Simulate a survey with the light-cone pipeline: catalogue.fits, xod.h5, maps/*.fits, previews/*.png and
    run.json in OUT.

    Refuses, before allocating anything, parameters outside the prior, bad seeds, impossible geometry, an unwritable,
    locked or non-empty OUT (without --overwrite) and runs whose estimated memory exceeds the device's.
    """
    from xcosmo.params import Params
    from xcosmo.runs import run_folder

    say = speaker(quiet)
    params = Params(omega_m, sigma_8, a_sn1, a_sn2, a_agn1, a_agn2)
    overrides = {k: v for k, v in (("area_deg2", area), ("voxel_mpc_h", voxel), ("n_lightcones", lightcones)) if v is not None}
    plan = _plan(params, seed, preset, overrides, dry_run, say)
    if dry_run:
        return
    meta = {"params": params.as_dict(), "seed": seed, "preset": plan.preset.name}
    with run_folder(out, command="simulate", overwrite=overwrite, metadata=meta) as stage:
        _simulate_into(stage, plan, seed, quiet)
    say(f"wrote {out}/catalogue.fits, xod.h5, maps/, previews/, run.json")


HMF_BYTES_PER_MASS = 80 * 1025
"""Peak memory of :func:`xcosmo.hmf.mass_function` per mass, bytes: about ten float64 temporaries on the 1025-point
k grid of sigma(R) (:mod:`xcosmo.cosmology`)."""
HMF_BYTES_PER_POINT = 160
"""Peak memory per (mass, redshift) point of the table, bytes (float64 temporaries, the table and its plot)."""


@app.command()
def hmf(
    omega_m: float = OMEGA_M,
    sigma_8: float = SIGMA_8,
    z: str = typer.Option("0.1,0.3,0.5", help="Comma-separated redshifts."),
    mdef: str = typer.Option("500c", help="Mass definition: 200m, 200c or 500c."),
    m_lo: float = typer.Option(1e13, help="Lowest mass, Msun/h."),
    m_hi: float = typer.Option(10**15.5, help="Highest mass, Msun/h."),
    n_m: int = typer.Option(60, help="Number of log-spaced masses."),
    out: Optional[Path] = typer.Option(None, help="Write the table to this file (.fits, .ecsv, .csv or .hdf5) and its "
                                       "plot beside it (.png)."),  # fmt: skip
):
    """Tabulate the Tinker et al. (2008) mass function dn/dlnM [(Mpc/h)^-3] against M [Msun/h] (and plot it with --out)."""
    from xcosmo.checks import check_choice, check_number, require
    from xcosmo.cosmology import Cosmology
    from xcosmo.hmf import MASS_DEFINITIONS, mass_function
    from xcosmo.params import Params
    from xcosmo.pipeline import available_memory

    params = Params(omega_m, sigma_8)
    try:
        zs = np.array([float(v) for v in z.split(",")])
    except ValueError:
        raise ValueError(f"z = {z!r} is not allowed: expected comma-separated numbers such as 0.1,0.3") from None
    check_choice("mdef", mdef, MASS_DEFINITIONS)
    check_number("m_lo", m_lo, 0.0, np.inf, open=True, unit="Msun/h")
    require(m_hi > m_lo, "m_hi", m_hi, f"must be > m_lo = {m_lo:g} Msun/h")
    check_integer("n_m", n_m, 2)
    need = n_m * HMF_BYTES_PER_MASS + n_m * zs.size * HMF_BYTES_PER_POINT
    available, device = available_memory()
    require(need <= available // 2, "n_m", n_m, f"a table of {n_m} masses x {zs.size} redshifts needs about "
            f"{need / 2**30:.1f} GiB, more than half the {available / 2**30:.1f} GiB available on {device}")  # fmt: skip
    if out is not None:
        _check_output_file(out)
    m = np.geomspace(m_lo, m_hi, n_m)
    values = np.asarray(mass_function(Cosmology.from_params(params), m, zs[:, None], mdef=mdef))
    table = _mass_function_table(m, zs, values, mdef)
    if out is None:
        table.pprint(max_lines=-1, max_width=-1)
        return
    from xcosmo.io import write_table
    from xcosmo.plots import plot_mass_function

    write_table(table, out)
    plot_mass_function(m, zs, values, mdef, Path(out).with_suffix(".png"))
    typer.echo(f"wrote {out} and {Path(out).with_suffix('.png')}")


def _check_output_file(path: Path) -> None:
    """Refuse, before any work, an output file that cannot be written: empty, a folder, a missing or unwritable
    parent folder, an unknown table format."""
    from xcosmo.checks import require
    from xcosmo.io import is_writable_dir

    require(str(path) not in ("", "."), "out", str(path), "name a file such as hmf.fits")
    require(not path.is_dir(), "out", str(path), "it is a folder: name a file such as hmf.fits inside it")
    parent = path.parent
    require(parent.is_dir(), "out", str(path), f"its folder {str(parent)!r} does not exist")
    require(is_writable_dir(parent), "out", str(path), f"its folder {str(parent)!r} is not writable")
    require(path.suffix in (".fits", ".ecsv", ".csv", ".hdf5"), "out", str(path),
            "unknown table format: use .fits, .ecsv, .csv or .hdf5")  # fmt: skip


def _mass_function_table(m, zs, values, mdef):
    import astropy.cosmology.units as cu
    import astropy.units as u
    from astropy.table import QTable

    table = QTable()
    table["m"] = np.tile(m, len(zs)) * u.Msun / cu.littleh
    table["z"] = np.repeat(zs, len(m))
    table["dndlnm"] = values.ravel() * (u.Mpc / cu.littleh) ** -3
    table["m"].info.description = f"halo mass M{mdef}"
    table["dndlnm"].info.description = "Tinker et al. (2008) dn/dlnM, comoving"
    table.meta["MDEF"] = mdef
    return table


ALL_Z = (0.01, 2.0)
"""Redshift range of the "all redshifts" surface density printed by ``xcosmo counts`` (the count-rate tables reach
z = 2)."""


@app.command()
def counts(
    out: str = typer.Option("counts-output", help=OUT_HELP),
    omega_m: float = OMEGA_M,
    sigma_8: float = SIGMA_8,
    area: float = typer.Option(200.0, help="Survey area in deg^2."),
    cr_min: float = typer.Option(0.02, help="Flux cut on CR[0.5-2] keV, counts/s (pn+MOS1+MOS2); below 0.02 the "
                                 "lowest CR bin edge moves down to it."),  # fmt: skip
    relations: str = typer.Option("xxl", help="Scaling relations: xxl (Pacaud et al. 2018's), xcs or xcs-soft."),
    compare: Optional[str] = typer.Option(None, help="A second relation set whose dN/dz is overlaid on dndz.png."),
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
):
    """Expected counts of the analytical model (Tinker08 + M-T + L-T + EPIC response) for a survey, and its surface
    density of clusters (per deg^2) in the survey's redshift range and at all redshifts (z < 2).

    Writes xod.h5 (the expected XOD with its bin edges, survey and parameters), dndz.fits, xod.png, dndz.png and
    run.json into OUT.
    """
    from xcosmo.params import Params
    from xcosmo.runs import run_folder
    from xcosmo.scaling import relation_set
    from xcosmo.xod import Binning, Survey

    say = speaker(quiet)
    params = Params(omega_m, sigma_8)
    survey = Survey(area_deg2=area, cr_min=cr_min)
    sets = [relation_set(relations)] + ([] if compare is None else [relation_set(compare)])
    binning = Binning().with_flux_cut(cr_min)
    if binning != Binning():
        say(f"the flux cut {cr_min:g} c/s is below the default lowest CR edge {Binning().cr_edges[0]:g} c/s: "
            f"the lowest CR bin now starts at {cr_min:g} c/s")  # fmt: skip
    meta = {"params": params.as_dict(), "area_deg2": area, "cr_min": cr_min, "relations": relations, "compare": compare}
    with run_folder(out, command="counts", overwrite=overwrite, metadata=meta) as stage:
        _analytic_counts_into(stage, params, survey, binning, say, sets)
    say(f"wrote {out}/xod.h5, dndz.fits, xod.png, dndz.png, run.json")


def _analytic_counts_into(folder: Path, params, survey, binning, say, sets=None) -> float:
    """The analytical model's expected XOD for ``survey`` in ``binning`` with the relation sets ``sets`` (the first
    is the model, the others are overlaid on the dN/dz plot; default the ``"xxl"`` set), written into ``folder``;
    prints the counts, dN/dz and surface densities; returns the total."""
    from astropy.table import Table

    from xcosmo import __version__
    from xcosmo.analytic import AnalyticModel
    from xcosmo.io import ensure_writable_dir, write_table
    from xcosmo.plots import plot_dndz, plot_xod
    from xcosmo.scaling import relation_set
    from xcosmo.xod import Binning, Survey, save_xod

    sets = [relation_set()] if sets is None else sets
    folder = ensure_writable_dir(folder)
    models = [AnalyticModel.build(survey, binning, spec) for spec in sets]
    xod = np.asarray(models[0].expected_counts(params))
    meta = {"model": "analytic", "relations": sets[0].name, "version": __version__, **params.as_dict()}
    save_xod(folder / "xod.h5", xod, binning, survey, meta)
    z_e = np.asarray(binning.z_edges)
    per_z = {f"{m.relations.name} relations": np.asarray(m.dndz(params)) for m in models}
    table = Table({"z_lo": z_e[:-1], "z_hi": z_e[1:], "n_clusters": per_z[f"{sets[0].name} relations"]})
    table["n_clusters"].info.description = f"expected clusters with CR[0.5-2] > {survey.cr_min:g} c/s"
    table.meta["RELATION"] = sets[0].name
    write_table(table, folder / "dndz.fits")
    plot_xod(xod, binning, folder / "xod.png", title=f"analytical model ({sets[0].name}), {survey.area_deg2:g} deg2")
    plot_dndz(z_e, per_z, f"CR > {survey.cr_min:g} c/s, {survey.area_deg2:g} deg$^2$", folder / "dndz.png")
    wide = Survey(area_deg2=1.0, cr_min=survey.cr_min, z_min=ALL_Z[0], z_max=ALL_Z[1])
    all_z = AnalyticModel.build(wide, Binning.regular(n_z=1, z_range=ALL_Z).with_flux_cut(survey.cr_min), sets[0])
    density_all = float(np.asarray(all_z.expected_counts(params)).sum())
    say(f"Analytical model ({sets[0].reference}), {survey.area_deg2:g} deg^2, CR[0.5-2] > {survey.cr_min:g} c/s: "
        f"{xod.sum():.1f} clusters")  # fmt: skip
    for i, (lo, hi) in enumerate(zip(z_e[:-1], z_e[1:])):
        say(f"  {lo:.2f} < z < {hi:.2f}: " + "  ".join(f"{v[i]:8.1f}" for v in per_z.values()))
    say(f"surface density: {xod.sum() / survey.area_deg2:.2f} per deg^2 at {z_e[0]:g} < z < {z_e[-1]:g}, "
        f"{density_all:.2f} per deg^2 at all redshifts (z < {ALL_Z[1]:g})")  # fmt: skip
    return float(xod.sum())


@app.command()
def fisher(
    out: str = typer.Option("fisher-output", help=OUT_HELP),
    omega_m: float = typer.Option(0.3, help="Fiducial Omega_m."),
    sigma_8: float = typer.Option(0.8, help="Fiducial sigma_8."),
    priors: bool = typer.Option(True, help="Add the Gaussian scaling-relation priors of inference.likelihood."),
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
):
    """Fisher matrix of the analytical model's XOD (paper eq. 8) at a fiducial point: marginal errors, the
    (Omega_m, sigma_8) figure of merit, and ellipse plots (all pairs, and the degeneracies of the paper's fig. 11).

    Writes fisher.ecsv (the matrix), errors.ecsv, fisher.png, degeneracies.png and run.json into OUT.
    """
    from astropy.table import Table

    from inference.fisher import analytic_fisher
    from inference.fisher_plots import plot_fisher
    from inference.likelihood import default_forward, nuisance_prior_sigma_phi
    from xcosmo.analytic import fiducial_phi
    from xcosmo.io import write_table
    from xcosmo.params import Params
    from xcosmo.runs import run_folder

    say = speaker(quiet)
    params = Params(omega_m, sigma_8)
    phi = fiducial_phi()
    phi[:2] = params.omega_m, params.sigma_8
    meta = {"fiducial": params.as_dict(), "priors": priors}
    with run_folder(out, command="fisher", overwrite=overwrite, metadata=meta) as stage:
        result = analytic_fisher(default_forward(), phi, prior_sigma=nuisance_prior_sigma_phi() if priors else None)
        names = list(result.names)
        matrix = Table(result.matrix, names=names)
        matrix.add_column(names, name="parameter", index=0)
        write_table(matrix, stage / "fisher.ecsv")
        errors = Table({"parameter": names, "fiducial": result.fiducial, "marginal_error": result.marginal_errors,
                        "conditional_error": result.conditional_errors})  # fmt: skip
        errors.meta["FOM"] = result.figure_of_merit()
        write_table(errors, stage / "errors.ecsv")
        plot_fisher(result, stage / "fisher.png")
        plot_fisher(result, stage / "degeneracies.png", pairs=[("a_mt", "omega_m"), ("alpha_mt", "gamma_mt")])
    say(f"Fisher matrix of the analytical XOD ({'with' if priors else 'without'} scaling-relation priors)")
    for name, value, err in zip(names, result.fiducial, result.marginal_errors):
        say(f"  {name:>9s} = {value:11.4g} +- {err:.3g}")
    say(f"FoM(omega_m, sigma_8) = det(Cov)^-1/2 = {result.figure_of_merit():.1f}")
    say(f"wrote {out}/fisher.ecsv, errors.ecsv, fisher.png, degeneracies.png, run.json")


@app.command()
def mcmc(
    out: str = typer.Option("mcmc-output", help=OUT_HELP),
    backend: str = typer.Option("numpyro", help="NUTS implementation: numpyro or blackjax."),
    data: str = typer.Option("asimov", help="asimov (the expected XOD), poisson (one draw of it) or an XOD .h5 file "
                             "(the model is then built for the file's survey and binning)."),  # fmt: skip
    warmup: Optional[int] = typer.Option(None, help="Warm-up steps per chain [default: inference.mcmc.NUTSSettings's]."),
    samples: Optional[int] = typer.Option(None, help="Draws per chain [default: NUTSSettings's]."),
    chains: Optional[int] = typer.Option(None, help="Number of chains [default: NUTSSettings's]."),
    seed: int = typer.Option(0, help="Random seed (Poisson data and sampler; 0 <= seed < 2^32)."),
    target_accept: Optional[float] = typer.Option(
        None, help="Target acceptance probability of the step-size adaptation [default: "
        "inference.mcmc.DEFAULT_TARGET_ACCEPT, 0.97, the validated one]."
    ),
    neutra: bool = typer.Option(
        True, help="Run NUTS in the latent space of a flow fitted to the posterior first (about 1 min on a CPU; "
        "--no-neutra samples the model's own coordinates, several times slower on this bent posterior)."
    ),
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
):
    """Sample the 2+6 parameter analytical model with NUTS (dense mass matrix) on an XOD.

    Writes chains.nc (ArviZ-compatible netCDF), summary.json, corner.png and run.json into OUT, as one run.
    """
    import json

    import jax

    from inference.likelihood import asimov_data, check_data, default_forward, numpyro_model, poisson_draw
    from inference.mcmc import NUTSSettings, corner_plot, format_summary, run_nuts, save_chains, summary
    from xcosmo.analytic import PHI_NAMES, AnalyticModel
    from xcosmo.io import atomic_path
    from xcosmo.runs import run_folder
    from xcosmo.xod import Binning, Survey, load_xod

    say = speaker(quiet)
    check_seed(seed)
    given = {k: v for k, v in (("target_accept", target_accept), ("num_warmup", warmup), ("num_samples", samples),
                               ("num_chains", chains)) if v is not None}  # fmt: skip
    settings = NUTSSettings(backend=backend, seed=seed, dense_mass=True, progress=not quiet, neutra=neutra, **given)
    stored = None if data in ("asimov", "poisson") else load_xod(data)  # a bad file is refused before the model is built
    if stored is None or (stored.survey, stored.binning) == (Survey(), Binning()):
        forward = default_forward()
    else:
        s = stored.survey
        say(f"data {data}: {s.area_deg2:g} deg^2, CR[0.5-2] > {s.cr_min:g} c/s, {s.z_min:g} < z < {s.z_max:g}, "
            f"{'x'.join(map(str, stored.binning.shape))} bins: the model is built for this survey and binning")  # fmt: skip
        forward = AnalyticModel.build(stored.survey, stored.binning)
    if data == "asimov":
        observed = asimov_data(forward=forward)
    elif data == "poisson":
        observed = poisson_draw(jax.random.key(seed), asimov_data(forward=forward))
    else:
        observed = stored
    observed = check_data(observed, forward)
    meta = {"data": data, "backend": backend, "seed": seed}
    with run_folder(out, command="mcmc", overwrite=overwrite, metadata=meta) as stage:
        tree = run_nuts(numpyro_model, observed, settings=settings, forward=forward)
        save_chains(tree, stage / "chains.nc")
        names = list(PHI_NAMES)
        result = summary(tree, names)
        with atomic_path(stage / "summary.json") as tmp:
            tmp.write_text(json.dumps(result, indent=2, default=float))
        corner_plot(tree, stage / "corner.png", var_names=names)
    say(format_summary(result))
    say(f"wrote {out}/chains.nc, summary.json, corner.png, run.json")


app.command("make-training-set")(make_training_set)
app.command("validate-suite")(validate_suite)
app.command("train-ldl")(train_ldl)
app.command("validate-ldl")(validate_ldl)
app.add_typer(campaign_app, name="campaign")
app.add_typer(sbi_app, name="sbi")
app.add_typer(scaling_app, name="scaling")
app.command("emulate-sr")(emulate_sr)
app.command("compare")(compare)


def main() -> None:  # pragma: no cover - console entry point
    """Console entry point. Exits with ``os._exit`` after Ctrl-C: the interpreter's normal shutdown can then crash
    in JAX's runtime threads, and the run's outcome is already settled and reported."""
    try:
        app()
    except SystemExit as done:
        if done.code == 130:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
