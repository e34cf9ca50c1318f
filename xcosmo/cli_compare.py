"""``xcosmo compare``: the head-to-head study of the analytical, emulated-relation and simulation-based models
(:mod:`inference.compare`). Registered on the application by :mod:`xcosmo.cli`."""

from __future__ import annotations

from pathlib import Path

import typer

from xcosmo.cli_options import QUIET, speaker

__all__ = ["compare"]


def compare(
    out: Path = typer.Option(Path("compare-output"), help="Folder of the study: campaign store, NPEs, NUTS chains, "
                             "report.json, report.md and figures; a second call resumes there."),  # fmt: skip
    preset: str = typer.Option("cpu", help="cpu (2 points, 10 000 emulated XODs, 3 NPE seeds; hours on 2 cores) or "
                               "gpu (3 points, 100 000 XODs, 5 seeds)."),  # fmt: skip
    workers: int = typer.Option(2, help="Dask workers of the campaign."),
    light_cones: Path = typer.Option(None, help="A light-cone campaign store (`xcosmo campaign run`): an NPE trained "
                                     "on its simulated XODs joins the comparison."),  # fmt: skip
    quiet: bool = QUIET,
):
    """Fisher, NUTS and NPE posteriors of the three models at a few points, their degeneracies with cosmology, and the
    paper's table 3 over summary statistics (paper 5.1-5.2, figures 10-12)."""
    from inference.compare import compare_preset, run_comparison
    from inference.mcmc import request_host_devices

    say = speaker(quiet)
    settings = compare_preset(preset, workers=workers, light_cones=light_cones)
    request_host_devices(settings.nuts.num_chains)  # the emulated density keeps one core busy: chains in threads
    result = run_comparison(out, settings, progress=not quiet)
    say((out / "report.md").read_text())
    c = result["conclusion"]
    say(f"wrote {out}/report.json, report.md and figures; paper's conclusion {'holds' if c['holds'] else 'fails'}")
