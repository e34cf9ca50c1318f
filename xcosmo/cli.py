"""The ``xcosmo`` command line. This module is the composition root: it alone may import xcosmo, emulators and
inference together.

Bad input is reported as ``error: ...`` with exit status 2, before any expensive work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer

app = typer.Typer(
    help="xcosmo: forward models and inference for X-ray cluster surveys (Cerardi et al., XMM cluster cosmology VII).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(err: Exception) -> None:
    typer.secho(f"error: {err}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def _params(omega_m: float, sigma_8: float):
    from xcosmo.params import Params

    try:
        return Params(omega_m, sigma_8)
    except (ValueError, TypeError) as err:
        _fail(err)


@app.command()
def quickstart(
    out: Path = typer.Option(Path("quickstart-output"), help="Output folder (created if needed)."),
    preset: str = typer.Option("quickstart", help="Simulation preset: tiny, quickstart, paper, or a .yaml file."),
    seed: int = typer.Option(0, help="Random seed of the initial conditions."),
    omega_m: float = typer.Option(0.3, help="Omega_m (prior 0.1-0.5)."),
    sigma_8: float = typer.Option(0.8, help="sigma_8 (prior 0.6-1.0)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, print nothing but errors."),
):
    """Run the main job: a simulated light cone and the analytical model's expectation for the same survey.

    The simulation (JaxPM boxes, baryon painter, EPIC count-rate maps, sep detection) writes catalogue.fits, xod.h5,
    maps/ and previews/ into OUT; the analytical model (Tinker08 + scaling relations) writes analytic/.
    """
    from xcosmo.io import ensure_writable_dir
    from xcosmo.xod import Survey

    params = _params(omega_m, sigma_8)
    result = _run_simulation(params, seed, preset, out, {}, dry_run=False, quiet=quiet)
    survey = Survey(area_deg2=result.survey.area_deg2, cr_min=result.survey.cr_min)
    expected = _run_analytic_counts(params, survey, ensure_writable_dir(out / "analytic"), quiet)
    if not quiet:
        typer.echo(f"clusters in {survey.area_deg2:g} deg^2: simulated {len(result.catalogue)} (painter: "
                   f"{type(result.painter).__name__}), analytical model {expected:.1f}")  # fmt: skip


def _run_simulation(params, seed, preset, out: Path, overrides: dict, dry_run: bool, quiet: bool):
    from xcosmo.io import ensure_writable_dir
    from xcosmo.pipeline import plan_run, simulate_survey
    from xcosmo.presets import load_preset

    say = (lambda *a: None) if quiet else typer.echo
    try:
        chosen = load_preset(preset)
        if overrides:
            chosen = chosen.replace(**overrides)
        plan = plan_run(params, chosen)
        if not dry_run:
            ensure_writable_dir(out)
    except (ValueError, TypeError, FileNotFoundError) as err:
        _fail(err)
    if dry_run or not quiet:
        typer.echo(plan.describe())
    if not plan.fits:
        _fail(ValueError(f"the run needs {plan.memory_bytes / 2**30:.2f} GiB and only {plan.available_bytes / 2**30:.2f} GiB "
                         f"are available on {plan.device}: use a smaller area, larger voxels or a bigger device"))  # fmt: skip
    if dry_run:
        return None
    result = simulate_survey(params, seed, chosen, out=out, progress=not quiet)
    t = result.timings
    say("timings [s]: " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()))
    say(f"{len(result.catalogue)} clusters with CR[0.5-2] > {chosen.cr_min:g} c/s in {result.survey.area_deg2:g} deg^2")
    say(f"wrote {out}/catalogue.fits, xod.h5, maps/, previews/")
    return result


@app.command()
def simulate(
    out: Path = typer.Option(Path("simulation-output"), help="Output folder (created if needed)."),
    preset: str = typer.Option("quickstart", help="tiny, quickstart, paper, or a .yaml preset file."),
    seed: int = typer.Option(0, help="Random seed of the initial conditions."),
    omega_m: float = typer.Option(0.3, help="Omega_m (prior 0.1-0.5)."),
    sigma_8: float = typer.Option(0.8, help="sigma_8 (prior 0.6-1.0)."),
    a_sn1: float = typer.Option(1.0, help="A_SN1 (prior 0.25-4)."),
    a_sn2: float = typer.Option(1.0, help="A_SN2 (prior 0.5-2)."),
    a_agn1: float = typer.Option(1.0, help="A_AGN1 (prior 0.25-4)."),
    a_agn2: float = typer.Option(1.0, help="A_AGN2 (prior 0.5-2)."),
    area: Optional[float] = typer.Option(None, help="Override the light-cone area, deg^2."),
    voxel: Optional[float] = typer.Option(None, help="Override the voxel size, Mpc/h."),
    lightcones: Optional[int] = typer.Option(None, help="Override the number of light cones per XOD."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print particle counts and memory needs, run nothing."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, print nothing but errors."),
):
    """Simulate a survey with the light-cone pipeline: catalogue.fits, xod.h5, maps/*.fits, previews/*.png in OUT.

    Refuses, before allocating anything, parameters outside the prior, impossible geometry, an unwritable OUT and
    runs whose estimated memory exceeds the device's.
    """
    from xcosmo.params import Params

    try:
        params = Params(omega_m, sigma_8, a_sn1, a_sn2, a_agn1, a_agn2)
    except (ValueError, TypeError) as err:
        _fail(err)
    overrides = {k: v for k, v in (("area_deg2", area), ("voxel_mpc_h", voxel), ("n_lightcones", lightcones)) if v is not None}
    _run_simulation(params, seed, preset, out, overrides, dry_run=dry_run, quiet=quiet)


@app.command()
def hmf(
    omega_m: float = typer.Option(0.3, help="Omega_m (prior 0.1-0.5)."),
    sigma_8: float = typer.Option(0.8, help="sigma_8 (prior 0.6-1.0)."),
    z: str = typer.Option("0.1,0.3,0.5", help="Comma-separated redshifts."),
    mdef: str = typer.Option("500c", help="Mass definition: 200m, 200c or 500c."),
    m_lo: float = typer.Option(1e13, help="Lowest mass, Msun/h."),
    m_hi: float = typer.Option(10**15.5, help="Highest mass, Msun/h."),
    n_m: int = typer.Option(60, help="Number of log-spaced masses."),
    out: Optional[Path] = typer.Option(None, help="Write the table here (FITS, ECSV or any astropy format)."),
):
    """Tabulate the Tinker et al. (2008) mass function dn/dlnM [(Mpc/h)^-3] against M [Msun/h] (and plot it with --out)."""
    from xcosmo.checks import check_choice, check_integer, check_number, require
    from xcosmo.cosmology import Cosmology
    from xcosmo.hmf import MASS_DEFINITIONS, mass_function

    params = _params(omega_m, sigma_8)
    try:
        zs = np.array([float(v) for v in z.split(",")])
    except ValueError:
        _fail(ValueError(f"z = {z!r}: expected comma-separated numbers such as 0.1,0.3"))
    try:
        check_choice("mdef", mdef, MASS_DEFINITIONS)
        check_number("m_lo", m_lo, 0.0, np.inf, open=True, unit="Msun/h")
        require(m_hi > m_lo, "m_hi", m_hi, f"must be > m_lo = {m_lo:g} Msun/h")
        check_integer("n_m", n_m, 2)
        m = np.geomspace(m_lo, m_hi, n_m)
        values = np.asarray(mass_function(Cosmology.from_params(params), m, zs[:, None], mdef=mdef))
    except (ValueError, TypeError) as err:
        _fail(err)
    table = _mass_function_table(m, zs, values, mdef)
    if out is None:
        table.pprint(max_lines=-1, max_width=-1)
    else:
        from xcosmo.io import write_table
        from xcosmo.plots import plot_mass_function

        try:
            write_table(table, out)
        except ValueError as err:
            _fail(err)
        plot_mass_function(m, zs, values, mdef, Path(out).with_suffix(".png"))
        typer.echo(f"wrote {out} and {Path(out).with_suffix('.png')}")


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


@app.command()
def counts(
    out: Path = typer.Option(Path("counts-output"), help="Output folder (created if needed)."),
    omega_m: float = typer.Option(0.3, help="Omega_m (prior 0.1-0.5)."),
    sigma_8: float = typer.Option(0.8, help="sigma_8 (prior 0.6-1.0)."),
    area: float = typer.Option(200.0, help="Survey area in deg^2."),
    cr_min: float = typer.Option(0.02, help="Flux cut on CR[0.5-2] keV, counts/s (pn+MOS1+MOS2)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
):
    """Expected counts of the analytical model (Tinker08 + M-T + L-T + EPIC response) for a survey.

    Writes xod.h5 (the expected XOD with its bin edges and parameters), dndz.fits, xod.png and dndz.png into OUT.
    """
    from xcosmo.io import ensure_writable_dir
    from xcosmo.xod import Survey

    params = _params(omega_m, sigma_8)
    try:
        survey = Survey(area_deg2=area, cr_min=cr_min)
        out = ensure_writable_dir(out)
    except (ValueError, TypeError) as err:
        _fail(err)
    _run_analytic_counts(params, survey, out, quiet)


def _run_analytic_counts(params, survey, out: Path, quiet: bool) -> float:
    from astropy.table import Table

    from xcosmo import __version__
    from xcosmo.analytic import AnalyticModel
    from xcosmo.io import write_table
    from xcosmo.plots import plot_dndz, plot_xod
    from xcosmo.xod import Binning, save_xod

    say = (lambda *a: None) if quiet else typer.echo
    binning = Binning()
    forward = AnalyticModel.build(survey, binning)
    xod = np.asarray(forward.expected_counts(params))
    meta = {"model": "analytic", "version": __version__, "area_deg2": survey.area_deg2, "cr_min": survey.cr_min,
            **params.as_dict()}  # fmt: skip
    save_xod(out / "xod.h5", xod, binning, meta)
    z_e = np.asarray(binning.z_edges)
    per_z = xod.sum(axis=(1, 2))
    table = Table({"z_lo": z_e[:-1], "z_hi": z_e[1:], "n_clusters": per_z})
    table["n_clusters"].info.description = f"expected clusters with CR[0.5-2] > {survey.cr_min:g} c/s"
    write_table(table, out / "dndz.fits")
    plot_xod(xod, binning, out / "xod.png", title=f"analytical model, {survey.area_deg2:g} deg2")
    plot_dndz(z_e, per_z, f"CR > {survey.cr_min:g} c/s, {survey.area_deg2:g} deg$^2$", out / "dndz.png")
    say(f"Analytical model, {survey.area_deg2:g} deg^2, CR[0.5-2] > {survey.cr_min:g} c/s: {xod.sum():.1f} clusters")
    for lo, hi, n in zip(z_e[:-1], z_e[1:], per_z):
        say(f"  {lo:.2f} < z < {hi:.2f}: {n:8.1f}")
    say(f"wrote {out}/xod.h5, dndz.fits, xod.png, dndz.png")
    return float(xod.sum())


@app.command()
def fisher(
    out: Path = typer.Option(Path("fisher-output"), help="Output folder (created if needed)."),
    omega_m: float = typer.Option(0.3, help="Fiducial Omega_m."),
    sigma_8: float = typer.Option(0.8, help="Fiducial sigma_8."),
    priors: bool = typer.Option(True, help="Add the Gaussian scaling-relation priors of inference.likelihood."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
):
    """Fisher matrix of the analytical model's XOD (paper eq. 8) at a fiducial point: marginal errors, the
    (Omega_m, sigma_8) figure of merit, and ellipse plots (all pairs, and the degeneracies of the paper's fig. 11).

    Writes fisher.ecsv (the matrix), errors.ecsv, fisher.png and degeneracies.png into OUT.
    """
    from astropy.table import Table

    from inference.fisher import analytic_fisher
    from inference.fisher_plots import plot_fisher
    from inference.likelihood import default_forward, nuisance_prior_sigma_phi
    from xcosmo.analytic import fiducial_phi
    from xcosmo.io import ensure_writable_dir, write_table

    params = _params(omega_m, sigma_8)
    try:
        out = ensure_writable_dir(out)
    except ValueError as err:
        _fail(err)
    say = (lambda *a: None) if quiet else typer.echo
    phi = fiducial_phi()
    phi[:2] = params.omega_m, params.sigma_8
    result = analytic_fisher(default_forward(), phi, prior_sigma=nuisance_prior_sigma_phi() if priors else None)
    names = list(result.names)
    matrix = Table(result.matrix, names=names)
    matrix.add_column(names, name="parameter", index=0)
    write_table(matrix, out / "fisher.ecsv")
    errors = Table({"parameter": names, "fiducial": result.fiducial, "marginal_error": result.marginal_errors,
                    "conditional_error": result.conditional_errors})  # fmt: skip
    errors.meta["FOM"] = result.figure_of_merit()
    write_table(errors, out / "errors.ecsv")
    plot_fisher(result, out / "fisher.png")
    plot_fisher(result, out / "degeneracies.png", pairs=[("a_mt", "omega_m"), ("alpha_mt", "gamma_mt")])
    say(f"Fisher matrix of the analytical XOD ({'with' if priors else 'without'} scaling-relation priors)")
    for name, value, err in zip(names, result.fiducial, result.marginal_errors):
        say(f"  {name:>9s} = {value:11.4g} +- {err:.3g}")
    say(f"FoM(omega_m, sigma_8) = det(Cov)^-1/2 = {result.figure_of_merit():.1f}")
    say(f"wrote {out}/fisher.ecsv, errors.ecsv, fisher.png, degeneracies.png")


@app.command()
def mcmc(
    out: Path = typer.Option(Path("mcmc-output"), help="Output folder (created if needed)."),
    backend: str = typer.Option("numpyro", help="NUTS implementation: numpyro or blackjax."),
    data: str = typer.Option("asimov", help="asimov (the expected XOD), poisson (one draw of it) or an XOD .h5 file."),
    warmup: int = typer.Option(1000, help="Warm-up steps per chain."),
    samples: int = typer.Option(1000, help="Draws per chain."),
    chains: int = typer.Option(4, help="Number of chains."),
    seed: int = typer.Option(0, help="Random seed (Poisson data and sampler)."),
    target_accept: Optional[float] = typer.Option(
        None, help="Target acceptance probability of the step-size adaptation [default: "
        "inference.mcmc.DEFAULT_TARGET_ACCEPT, 0.97, the validated one]."
    ),
    neutra: bool = typer.Option(
        True, help="Run NUTS in the latent space of a flow fitted to the posterior first (about 1 min on a CPU; "
        "--no-neutra samples the model's own coordinates, several times slower on this bent posterior)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars, print nothing but errors."),
):
    """Sample the 2+6 parameter analytical model with NUTS (dense mass matrix) on an XOD.

    Writes chains.nc (ArviZ-compatible netCDF), summary.json and corner.png into OUT.
    """
    import json

    import jax

    from inference.likelihood import asimov_data, check_data, default_forward, numpyro_model, poisson_draw
    from inference.mcmc import NUTSSettings, corner_plot, format_summary, run_nuts, save_chains, summary
    from xcosmo.io import atomic_path, ensure_writable_dir
    from xcosmo.analytic import PHI_NAMES
    from xcosmo.xod import load_xod

    try:
        given = {} if target_accept is None else {"target_accept": target_accept}
        settings = NUTSSettings(backend=backend, num_warmup=warmup, num_samples=samples, num_chains=chains, seed=seed,
                                dense_mass=True, progress=not quiet, neutra=neutra, **given)  # fmt: skip
        out = ensure_writable_dir(out)
        forward = default_forward()
        if data == "asimov":
            observed = asimov_data(forward=forward)
        elif data == "poisson":
            observed = poisson_draw(jax.random.key(seed), asimov_data(forward=forward))
        else:
            observed, binning, _ = load_xod(data)
        observed = check_data(observed, forward)
    except (ValueError, TypeError, FileNotFoundError) as err:
        _fail(err)
    say = (lambda *a: None) if quiet else typer.echo
    tree = run_nuts(numpyro_model, observed, settings=settings, forward=forward)
    save_chains(tree, out / "chains.nc")
    names = list(PHI_NAMES)
    result = summary(tree, names)
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2, default=float))
    corner_plot(tree, out / "corner.png", var_names=names)
    say(format_summary(result))
    say(f"wrote {out}/chains.nc, summary.json, corner.png")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
