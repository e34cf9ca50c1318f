"""The scaling-relation emulator's commands: ``xcosmo scaling fit`` (measurements -> validated emulator),
``xcosmo scaling figures`` (the paper's figures 13 and B.1) and ``xcosmo emulate-sr`` (one query, as a table and
optionally a plot). The measurement itself is a campaign: ``xcosmo campaign run STORE --preset scaling --n N``.
Registered on the application by :mod:`xcosmo.cli`."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import typer

from xcosmo.cli_options import OMEGA_M, SIGMA_8, A_SN1, A_SN2, A_AGN1, A_AGN2, OVERWRITE, QUIET, speaker

__all__ = ["scaling_app", "emulate_sr"]

scaling_app = typer.Typer(help="The scaling-relation emulator: fit it on a measurement campaign, draw its figures.",
                          no_args_is_help=True)  # fmt: skip


@scaling_app.command("fit")
def fit_command(
    stores: list[Path] = typer.Argument(..., help="Scaling measurements (xcosmo campaign run STORE --preset scaling), "
                                        "one or several pooled (same volumes and painter, other --seed)."),  # fmt: skip
    out: str = typer.Option("scaling-fit-output", help="Folder of the run: scaling.eqx + scaling.json, "
                            "measurements.json, validation.json, validation.png."),  # fmt: skip
    folds: int = typer.Option(5, help="Groups of the cross-validation (each point held out once)."),
    seed: int = typer.Option(0, help="Seeds the split into folds."),
    ship: bool = typer.Option(False, help="Then install the emulator as the package's shipped one "
                              "(emulators/scaling/pretrained)."),  # fmt: skip
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
):
    """Fit the CR-M and HR-M relations of every measured design point, validate the emulator on held-out points, and
    fit it on all of them."""
    import json

    import numpy as np

    from emulators.scaling.emulator import PRETRAINED, save_emulator
    from emulators.scaling.figures import plot_validation
    from emulators.scaling.training import fit_and_validate, measurements
    from xcosmo.campaign.store import CampaignStore
    from xcosmo.checks import check_integer, fail
    from xcosmo.io import atomic_path
    from xcosmo.painting import painter_weights
    from xcosmo.runs import run_folder

    check_integer("folds", folds, 2)
    say = speaker(quiet)
    start = time.perf_counter()
    campaigns = [CampaignStore.open(store) for store in stores]
    weights = [c.attrs.get("painter_weights") for c in campaigns]
    shas = [(w or {}).get("sha256") for w in weights]  # the weights' identity; notes beside it may differ
    if any(sha != shas[0] for sha in shas):
        fail("stores", [str(s) for s in stores], f"measurements painted with one set of eLDL weights, not the "
                                                 f"weights of SHA-256 {shas}")  # fmt: skip
    data = measurements(campaigns)
    say(f"{len(data['index'])} design points measured ({len(data['skipped'])} with too few clusters); median "
        f"{int(np.median(data['n_clusters']))} clusters per point")  # fmt: skip
    names = [str(s) for s in stores]
    with run_folder(out, command="scaling fit", overwrite=overwrite, metadata={"stores": names}) as stage:
        emulator, report = fit_and_validate(data, folds=folds, seed=seed)
        meta = {"stores": names, "campaigns": [c.attrs["config"] for c in campaigns],
                "simulator": campaigns[0].attrs["simulator"],
                "n_points": int(len(data["index"])), "validation": {k: report[k] for k in
                ("folds", "n_points", "pull_std", "pull_mean", "error_ratio_median", "nugget")},
                "painter_weights": weights[0] or {
                    **(painter_weights(campaigns[0].attrs["simulator"]["painter"]) or {}),
                    "note": "the campaign store did not record its painter's weights: these are the package's at the fit"},
                "campaign_summaries": [{k: v for k, v in c.summary().items() if k != "failures"} for c in campaigns],
                "command": " ".join(["xcosmo", *sys.argv[1:]]), "seconds": time.perf_counter() - start}  # fmt: skip
        save_emulator(emulator, stage / "scaling.eqx", meta)
        with atomic_path(stage / "measurements.json") as tmp:
            tmp.write_text(json.dumps({k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in data.items()}))
        with atomic_path(stage / "validation.json") as tmp:
            tmp.write_text(json.dumps(report, indent=1))
        plot_validation(report, stage / "validation.png")
    for name in report["pull_std"]:
        say(f"{name:>12}: cross-validated residual std {report['pull_std'][name]:.2f}, emulator / measurement error "
            f"{report['error_ratio_median'][name]:.2f}")  # fmt: skip
    if ship:
        path = save_emulator(emulator, PRETRAINED, meta)
        say(f"installed {path} and {path.with_suffix('.json')} as the shipped emulator")


@scaling_app.command("figures")
def figures_command(
    out: str = typer.Option("scaling-figures", help="Folder of the run: figure13.png, figureB1.png."),
    emulator_path: Optional[Path] = typer.Option(None, "--emulator", help="Emulator weights (default: the shipped)."),
    measured: Optional[Path] = typer.Option(None, help="measurements.json of `xcosmo scaling fit`, drawn as points."),
    z: float = typer.Option(0.21, help="Redshift of the figures."),
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
):
    """The paper's figure 13 (CR-M slope and scatter against A_SN1 for several A_SN2) and figure B.1 (the slope over
    the four feedback amplitudes) from the emulator."""
    import json

    import numpy as np

    from emulators.scaling.emulator import PRETRAINED, load_emulator
    from emulators.scaling.figures import plot_feedback_dependence, plot_four_feedbacks
    from xcosmo.runs import run_folder

    say = speaker(quiet)
    emulator, _ = load_emulator(PRETRAINED if emulator_path is None else emulator_path)
    data = None
    if measured is not None:
        data = {k: np.asarray(v) for k, v in json.loads(Path(measured).read_text()).items() if k != "skipped"}
    with run_folder(out, command="scaling figures", overwrite=overwrite, metadata={"z": z}) as stage:
        plot_feedback_dependence(emulator, stage / "figure13.png", data, z=z)
        plot_four_feedbacks(emulator, stage / "figureB1.png", z=z)
    say(f"wrote {out}/figure13.png, figureB1.png")


@scaling_app.command("fisher")
def fisher_command(
    out: str = typer.Option("scaling-fisher", help="Folder of the run: fisher.json, fisher.md."),
    emulator_path: Optional[Path] = typer.Option(None, "--emulator", help="Emulator weights (default: the shipped)."),
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
):
    """The Fisher forecasts of the emulated-relation model (2 + 4) and the analytical model (2 + 6) at the fiducial,
    on the default survey and binning: marginal errors, correlations with Omega_m and sigma_8, and the FoM."""
    import json

    from emulators.scaling.emulator import PRETRAINED, load_emulator
    from inference.emulated import fisher_comparison
    from xcosmo.emulated import EmulatedRelationModel
    from xcosmo.io import atomic_path
    from xcosmo.runs import run_folder

    say = speaker(quiet)
    emulator, _ = load_emulator(PRETRAINED if emulator_path is None else emulator_path)
    with run_folder(out, command="scaling fisher", overwrite=overwrite) as stage:
        table = fisher_comparison(EmulatedRelationModel.build(emulator))
        text = fisher_table(table)
        with atomic_path(stage / "fisher.json") as tmp:
            tmp.write_text(json.dumps(table, indent=1))
        with atomic_path(stage / "fisher.md") as tmp:
            tmp.write_text(text + "\n")
    say(text)


def fisher_table(table: dict) -> str:
    """A markdown table of :func:`inference.emulated.fisher_comparison`: the errors of Omega_m and sigma_8, their
    correlation, the FoM, and each other parameter's error and correlations with Omega_m and sigma_8."""
    lines = ["| model | parameter | marginal error | corr. with Omega_m | corr. with sigma_8 |", "|---|---|---|---|---|"]
    for label, f in table.items():
        names, corr = f["names"], f["correlation"]
        for k, name in enumerate(names):
            lines.append(f"| {label} | {name} | {f['errors'][k]:.4g} | {corr[k][0]:+.2f} | {corr[k][1]:+.2f} |")
        lines.append(f"| {label} | FoM (Omega_m, sigma_8) | {f['fom']:.4g} | | |")
    return "\n".join(lines)


def emulate_sr(
    omega_m: float = OMEGA_M,
    sigma_8: float = SIGMA_8,
    a_sn1: float = A_SN1,
    a_sn2: float = A_SN2,
    a_agn1: float = A_AGN1,
    a_agn2: float = A_AGN2,
    z: float = typer.Option(0.21, help="Redshift (0.1-0.5)."),
    emulator_path: Optional[Path] = typer.Option(None, "--emulator", help="Emulator weights (default: the shipped)."),
    plot: Optional[Path] = typer.Option(None, help="PNG of the CR-M relation with its band."),
):
    """The emulated CR-M and HR-M relations at one point: a table of each quantity's mean and 1-sigma error."""
    import numpy as np

    from emulators.scaling.emulator import PRETRAINED, load_emulator
    from emulators.scaling.figures import LABELS

    emulator, meta = load_emulator(PRETRAINED if emulator_path is None else emulator_path)
    theta = np.array([omega_m, sigma_8, a_sn1, a_sn2, a_agn1, a_agn2])
    out = emulator.predict(theta, z)
    typer.echo(f"emulated relations at z = {z:g}, theta = ({', '.join(f'{v:g}' for v in theta)}); "
               "M_pivot = 1e14 Msun/h (mass of the voxels above 200 rho_c), CR in [0.5-2] keV, HR = CR[1-2]/CR[0.5-1]")  # fmt: skip
    for name, (mean, std) in out.items():
        typer.echo(f"{LABELS[name]:>30}: {float(mean):9.4f} +- {float(std):.4f}")
    if plot is not None:
        from emulators.scaling.figures import plot_relation

        typer.echo(f"wrote {plot_relation(emulator, theta, z, plot)}")
