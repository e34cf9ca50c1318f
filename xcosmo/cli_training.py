"""The ``xcosmo`` commands of the eLDL and its training data: ``make-training-set`` (the synthetic suite or CAMELS
simulations into a resumable store), ``validate-suite`` (the synthetic gas against CAMELS, as JSON and PNG),
``train-ldl`` (the extended LDL on a store, resumable) and ``validate-ldl`` (figures 5 and 6 on held-out boxes).
Registered on the application by :mod:`xcosmo.cli`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from xcosmo.cli_options import OUT_HELP, OVERWRITE, QUIET, check_seed, speaker

__all__ = ["make_training_set", "validate_suite", "train_ldl", "validate_ldl"]

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


def train_ldl(
    store: Path = typer.Argument(..., help="The training store (made by xcosmo make-training-set)."),
    out: str = typer.Option("train-ldl-output", help="Training folder: checkpoints, stages.json, then eldl.eqx and "
                            "eldl.json; running again into it resumes."),  # fmt: skip
    source: Optional[str] = typer.Option(None, help="The store's expected source, synthetic or camels (refused if "
                                         "it differs)."),  # fmt: skip
    steps: int = typer.Option(5, help="Most L-BFGS steps of each base LDL fit (all CV training boxes a step)."),
    conditioning_steps: int = typer.Option(200, help="Most Adam steps of each conditioning fit."),
    batch: int = typer.Option(2, help="Training samples per Adam step of the conditioning fits (drawn at random)."),
    seed: int = typer.Option(0, help="Seed of the conditioning MLPs' first layers (0 <= seed < 2^32)."),
    quiet: bool = QUIET,
):
    """Train the extended LDL on a training store (paper figure 1): the base n_e and T models on the CV boxes at
    z = 0.21, their conditioning on theta_sim on the LH boxes at z = 0.21, the T conditioning at each other LH
    redshift. Held-out boxes are never read. Writes eldl.eqx and eldl.json (the weights and how they were made).
    """
    import hashlib
    import json
    import sys
    import time

    import jax

    from xcosmo.checks import check_choice, check_integer

    say = speaker(quiet)
    check_seed(seed)
    check_integer("steps", steps, 1, 10**6)
    check_integer("conditioning_steps", conditioning_steps, 1, 10**6)
    check_integer("batch", batch, 1, 1000)
    plan_path = Path(store) / "suite.json"
    if not plan_path.is_file():
        raise FileNotFoundError(f"training store {str(store)!r} has no suite.json (make it with xcosmo make-training-set)")
    plan = json.loads(plan_path.read_text())
    if source is not None:
        check_choice("source", source, ("synthetic", "camels"))
        if plan.get("source") != source:
            raise ValueError(f"source = {source!r} is not allowed: the store {str(store)!r} holds {plan.get('source')!r} samples")
    redshifts = sorted({float(z) for b in plan["boxes"] if b["role"] == "LH" and not b["held_out"]
                        for z in (b.get("redshifts") or b.get("snapshots", {}).values())})  # fmt: skip
    from emulators.eldl.samples import load_split
    from emulators.eldl.training import CONDITIONING, FitSettings, train_eldl
    from emulators.eldl.weights import save_eldl

    split = load_split(store)
    base = FitSettings(steps=steps, batch=batch, optimizer="lbfgs")
    cond = FitSettings(steps=conditioning_steps, learning_rate=CONDITIONING.learning_rate, batch=batch)
    start = time.perf_counter()
    model = train_eldl(split, out, redshifts, base, cond, key=jax.random.key(seed), progress=not quiet)
    meta = {"training": {"store": str(Path(store).resolve()), "source": plan.get("source"),
                         "store_plan_sha256": hashlib.sha256(plan_path.read_bytes()).hexdigest(),
                         "store_xcosmo_version": plan.get("xcosmo_version"),
                         "samples": {"train": len(split.train), "validation": len(split.validation)}},
            "settings": {"base": base.__dict__, "conditioning": cond.__dict__, "seed": seed},
            "command": " ".join(["xcosmo", *sys.argv[1:]]), "seconds": time.perf_counter() - start,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip
    path = save_eldl(model, Path(out) / "eldl.eqx", voxel_mpc_h=float(plan["voxel_mpc_h"]), metadata=meta)
    say(f"wrote {path} and {path.with_suffix('.json')} (T model at z = {', '.join(f'{z:g}' for z in redshifts)})")


def validate_ldl(
    weights: Path = typer.Argument(..., help="eLDL weights (eldl.eqx, with eldl.json beside it)."),
    store: Path = typer.Option(..., help="The training store whose held-out boxes are the test."),
    out: str = typer.Option("validate-ldl-output", help=OUT_HELP),
    threshold: float = typer.Option(200.0, help="rho_DM / rho_c detection threshold of the clusters (paper: 200)."),
    m_min: float = typer.Option(5e12, help="Smallest detected mass (Msun/h) of the clusters whose CR-M relations are "
                                "compared."),  # fmt: skip
    ceiling: bool = typer.Option(True, help="Synthetic stores: remake the held-out boxes without their random per-"
                                 "halo part (the ceiling) and at other feedback amplitudes (minutes)."),  # fmt: skip
    ship: bool = typer.Option(False, help="Then install the weights, with this report's summary in their metadata, as "
                              "the package's shipped eLDL (emulators/eldl/pretrained)."),  # fmt: skip
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
):
    """Compare the eLDL, the power-law baseline and the ceiling with the targets of the held-out boxes (paper figures
    5 and 6 on the CV boxes at z = 0.21; conditioning checks on the LH boxes), against the goals of issue 16.

    Writes validation.json, voxels.png (figure 5), clusters.png (figure 6) and run.json into OUT.
    """
    import json

    from xcosmo.checks import check_number
    from xcosmo.io import atomic_path
    from xcosmo.runs import run_folder

    say = speaker(quiet)
    check_number("threshold", threshold, 0.0, 1e6, open=True)
    check_number("m_min", m_min, 0.0, 1e17, unit="Msun/h")
    from emulators.eldl.report import eldl_report
    from emulators.eldl.validation import plot_clusters, plot_voxels
    from emulators.eldl.weights import PRETRAINED, load_eldl, save_eldl

    model, meta = load_eldl(weights)
    if not (Path(store) / "suite.json").is_file():
        raise FileNotFoundError(f"training store {str(store)!r} has no suite.json (make it with xcosmo make-training-set)")
    meta_run = {"weights": str(weights), "store": str(store), "threshold": threshold, "m_min": m_min}
    with run_folder(out, command="validate-ldl", overwrite=overwrite, metadata=meta_run) as stage:
        report = eldl_report(model, store, threshold=threshold, m_min=m_min, ceiling=ceiling, say=say)
        with atomic_path(stage / "validation.json") as tmp:
            tmp.write_text(json.dumps({"weights": meta, **report}, indent=1, default=str))
        plot_clusters(report["figures"], stage / "clusters.png")
        plot_voxels(report["figures"], stage / "voxels.png")
    for name, rows in report["summary"].items():
        say(f"{name}: " + "; ".join(f"{k} {v['value']:.3g} ({'met' if v['met'] else 'not met'}, goal {v['goal']:g})"
                                    for k, v in rows.items()))  # fmt: skip
    say(f"wrote {out}/validation.json, voxels.png, clusters.png, run.json")
    if ship:
        kept = {k: v for k, v in meta.items() if k not in ("format_version", "structure", "voxel_mpc_h", "sha256",
                                                          "xcosmo_version")}  # fmt: skip
        path = save_eldl(model, PRETRAINED, voxel_mpc_h=meta["voxel_mpc_h"],
                         metadata=kept | {"validation": {"summary": report["summary"], "store": str(store)}})  # fmt: skip
        say(f"installed {path} and {path.with_suffix('.json')} as the shipped eLDL")
