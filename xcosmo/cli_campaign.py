"""The ``xcosmo campaign`` commands: ``run`` (start or resume a campaign on Dask), ``status`` (counts, rate,
failures) and ``export`` (the finished XODs as netCDF). Registered on the application by :mod:`xcosmo.cli`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from xcosmo.cli_options import QUIET, speaker

__all__ = ["campaign_app"]

campaign_app = typer.Typer(help="Simulation campaigns: XODs at parameters drawn from the prior, on Dask, resumable.",
                           no_args_is_help=True)  # fmt: skip


@campaign_app.command("run")
def run(
    out: Path = typer.Argument(..., help="The campaign's zarr store (created; an existing one is resumed)."),
    preset: Optional[str] = typer.Option(None, help="Campaign preset: cpu (quickstart light cones), gpu (the paper's "
                                         "light cones), analytic (Poisson draws of the analytical model), scaling "
                                         "(cluster catalogues of eLDL volumes at (theta, z), for the scaling-relation "
                                         "emulator) or emulated (Poisson draws of the emulated-relation model). "
                                         "Needed to start a campaign; a resumed one keeps its own."),  # fmt: skip
    n: Optional[int] = typer.Option(None, help="Number of simulations (to start a campaign)."),
    seed: int = typer.Option(0, help="Campaign seed: the design and every simulation's seed."),
    design: str = typer.Option("lhs", help="Parameters: lhs (Latin hypercube of the prior) or random (prior draws)."),
    lightcone_preset: Optional[str] = typer.Option(None, help="Light-cone preset (name or YAML file) in place of the "
                                                   "campaign preset's; for --preset scaling, the volumes: cpu (one "
                                                   "150x150x50 (Mpc/h)^3 box per point) or paper (sixteen); for "
                                                   "--preset emulated, the emulator: shipped or the path of a "
                                                   "scaling.eqx."),  # fmt: skip
    painter: Optional[str] = typer.Option(None, help="Baryon painter (default: the light-cone preset's)."),
    max_attempts: int = typer.Option(3, help="Attempts of a simulation that raises before it is left failed."),
    workers: int = typer.Option(2, help="Worker processes of the local Dask cluster (one thread each)."),
    scheduler: Optional[str] = typer.Option(None, help="Address of a running Dask scheduler (tcp://host:8786) to use "
                                            "instead of a local cluster."),  # fmt: skip
    quiet: bool = QUIET,
):
    """Run a campaign, or resume it: only the simulations not yet done are run, each result written to OUT as it
    arrives. Killing this command loses only the simulations in flight."""
    from xcosmo.campaign import campaign_preset, run_campaign

    say = speaker(quiet)
    config = None
    if preset is not None or n is not None:
        if preset is None or n is None:
            raise ValueError("--preset and --n go together: both to start a campaign, neither to resume one")
        changes = dict(seed=seed, design=design, max_attempts=max_attempts, painter=painter)
        if lightcone_preset is not None:
            changes["preset"] = lightcone_preset
        config = campaign_preset(preset, n, **changes)
    summary = run_campaign(out, config, workers=workers, scheduler=scheduler, progress=not quiet)
    say(_describe(summary))


def _describe(s: dict) -> str:
    lines = [f"{s['n']} simulations: {s['done']} done, {s['pending']} pending, {s['failed']} failed"]
    if "rate_per_hour" in s:
        lines.append(f"rate {s['rate_per_hour']:.1f} simulations per hour; mean wall time {s['mean_wall_s']:.2f} s "
                     f"per simulation; mean {s['mean_clusters']:.1f} clusters per simulation")  # fmt: skip
    for f in s["failures"]:
        lines.append(f"  failed #{f['index']} after {f['attempts']} attempt(s): {f['error']}")
    return "\n".join(lines)


@campaign_app.command("status")
def status(
    path: Path = typer.Argument(..., help="A campaign store (may be running)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
):
    """Counts by status, the rate and the failures of a campaign (read-only: safe while it runs)."""
    from xcosmo.campaign.store import CampaignStore

    summary = CampaignStore.open(path).summary()
    typer.echo(json.dumps(summary, indent=1) if as_json else _describe(summary))


@campaign_app.command("export")
def export(
    path: Path = typer.Argument(..., help="A campaign store."),
    to: Path = typer.Option(..., "--to", help="netCDF file to write (the done simulations; xarray/ArviZ read it)."),
    quiet: bool = QUIET,
):
    """Write the finished simulations (parameters, seeds, XODs with their bin edges) to one netCDF file."""
    from xcosmo.campaign.export import export_campaign

    out = export_campaign(path, to)
    speaker(quiet)(f"wrote {out}")
