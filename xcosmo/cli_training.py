"""The ``xcosmo`` commands of the eLDL's training data: ``make-training-set`` (the synthetic suite or CAMELS
simulations into a resumable store) and ``validate-suite`` (the synthetic gas against CAMELS, as JSON and PNG).
Registered on the application by :mod:`xcosmo.cli`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from xcosmo.cli_options import OUT_HELP, OVERWRITE, QUIET, check_seed, speaker

__all__ = ["make_training_set", "validate_suite"]

_SHARED_CAMELS = Path(os.environ.get("XCOSMO_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "camels"
"""The CAMELS data of a source checkout (``shared/data`` next to the project, or ``$XCOSMO_SHARED_DATA``)."""


def make_training_set(
    path: Optional[Path] = typer.Argument(None, help="With --source camels: the folder of the CAMELS simulations "
                                          "(one folder per parameter-table row, e.g. LH_0/snap_000.hdf5 ...)."),  # fmt: skip
    out: str = typer.Option(..., help="Store folder (created if needed; an existing store of the same plan resumes)."),
    source: str = typer.Option("synthetic", help="Where the samples come from: synthetic (the embedded suite) or "
                               "camels (IllustrisTNG snapshots in PATH)."),  # fmt: skip
    size: str = typer.Option("default", help="Synthetic suite: tiny (tests, seconds), default or large "
                             "(emulators.data.suite)."),  # fmt: skip
    seed: int = typer.Option(0, help="Synthetic suite seed (0 <= seed < 2^32)."),
    lh_params: Optional[Path] = typer.Option(None, help="A CAMELS LH parameter table: the LH boxes' parameters of the "
                                             "synthetic suite (default: a Latin hypercube of the prior); with --source "
                                             "camels, the table of the simulations in PATH."),  # fmt: skip
    quiet: bool = QUIET,
):
    """Make the eLDL's training samples: PM dark matter with n_e [comoving cm^-3] and kT [keV] targets at 0.39 Mpc/h,
    one compressed HDF5 file per box and suite.json in OUT. Resumes where it stopped.

    The synthetic suite's gas is calibrated on CAMELS IllustrisTNG (``xcosmo validate-suite`` shows how well).
    """
    from xcosmo.checks import check_choice

    say = speaker(quiet)
    check_choice("source", source, ("synthetic", "camels"))
    if source == "camels":
        if path is None or lh_params is None:
            raise ValueError("--source camels needs PATH (the simulations' folder) and --lh-params (their parameter "
                             "table, e.g. CosmoAstroSeed_IllustrisTNG_L25n256_LH.txt)")  # fmt: skip
        from emulators.data.camels_source import make_camels_set

        folder = make_camels_set(path, lh_params, out, progress=not quiet)
    else:
        if path is not None:
            raise ValueError(f"PATH = {str(path)!r} is not allowed with --source synthetic (it names CAMELS data)")
        check_seed(seed)
        lh_theta = None
        if lh_params is not None:
            from emulators.data.camels import read_parameter_table

            lh_theta = read_parameter_table(lh_params).theta
        from emulators.data.suite import make_suite

        folder = make_suite(out, size, seed, lh_theta, progress=not quiet)
    say(f"wrote {folder}: {len(list(folder.glob('box_*.h5')))} boxes and suite.json")


def validate_suite(
    out: str = typer.Option("validate-suite-output", help=OUT_HELP),
    camels: Path = typer.Option(_SHARED_CAMELS, help="CAMELS data folder: profiles/, redshift_table.txt and the LH "
                                "parameter table (emulators.data.validation)."),  # fmt: skip
    box_mesh: int = typer.Option(64, help="Voxels per side of the fiducial box whose groups are measured (0.39 Mpc/h "
                                 "voxels: 64 is 25 Mpc/h, ~20 s; 128 is 50 Mpc/h, ~2 min; 0 skips the box)."),  # fmt: skip
    seed: int = typer.Option(1, help="Seed of that box (the calibration used 0)."),
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
):
    """Compare the synthetic suite's gas with CAMELS IllustrisTNG: the fiducial stacks, the A_AGN1 sweep, group gas
    fractions, the responses and scatters of a box's groups, and the held-out LH_0-13 stacks.

    Writes validation.json, stacks.png (fiducial stacks and model) and checks.png (held-out ratios, A_AGN1 sweep,
    responses) and run.json into OUT.
    """
    import json

    from xcosmo.checks import check_integer
    from xcosmo.io import atomic_path
    from xcosmo.runs import run_folder

    say = speaker(quiet)
    check_integer("box_mesh", box_mesh, 0, 513)
    check_seed(seed)
    if not camels.is_dir():
        raise FileNotFoundError(f"CAMELS data folder {str(camels)!r} not found (pass --camels)")
    from emulators.data.validation import plot_checks, plot_stacks, validation_report

    meta = {"camels": str(camels), "box_mesh": box_mesh, "seed": seed}
    with run_folder(out, command="validate-suite", overwrite=overwrite, metadata=meta) as stage:
        report = validation_report(camels, box_mesh=box_mesh or None, box_seed=seed)
        with atomic_path(stage / "validation.json") as tmp:
            tmp.write_text(json.dumps(report, indent=1))
        plot_stacks(camels, stage / "stacks.png")
        plot_checks(report, stage / "checks.png")
    for key, value in report["held_out_lh"]["bins"].items():
        say(f"held out LH_0-13, log M {key}: density ratio {value['density']['median_ratio']:.2f} "
            f"(scatter {value['density']['scatter_dex']:.2f} dex), temperature ratio "
            f"{value['temperature']['median_ratio']:.2f} (scatter {value['temperature']['scatter_dex']:.2f} dex)")  # fmt: skip
    say(f"wrote {out}/validation.json, stacks.png, checks.png, run.json")
