"""What the ``xcosmo`` commands share: the options every command spells the same way, the seed check, and the
``say`` that ``--quiet`` silences."""

from __future__ import annotations

import logging
import warnings

import typer

from xcosmo.checks import check_integer

__all__ = ["SEED_RANGE", "OUT_HELP", "OVERWRITE", "QUIET", "speaker", "check_seed"]

SEED_RANGE = (0, 2**32)
"""Allowed seeds: integers 0 <= seed < 2^32."""
OUT_HELP = "Output folder (created if needed; a non-empty one needs --overwrite)."
OVERWRITE = typer.Option(False, "--overwrite", help="Replace an earlier xcosmo run in OUT (its files are removed).")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars, print nothing but errors (warnings silenced).")


def speaker(quiet: bool):
    """``echo`` unless ``quiet``; with ``quiet`` warnings (numpyro's, corner's logging) are silenced too."""
    if quiet:
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        return lambda *a: None
    return typer.echo


def check_seed(seed: int) -> int:
    """``seed`` if it is an integer in :data:`SEED_RANGE`, else a ``ValueError`` naming it."""
    return check_integer("seed", seed, *SEED_RANGE)

# the six parameters theta, one option each (commands that take a parameter point)
OMEGA_M = typer.Option(0.3, help="Omega_m (prior 0.1-0.5).")
SIGMA_8 = typer.Option(0.8, help="sigma_8 (prior 0.6-1.0).")
A_SN1 = typer.Option(1.0, help="A_SN1 (prior 0.25-4).")
A_SN2 = typer.Option(1.0, help="A_SN2 (prior 0.5-2).")
A_AGN1 = typer.Option(1.0, help="A_AGN1 (prior 0.25-4).")
A_AGN2 = typer.Option(1.0, help="A_AGN2 (prior 0.5-2).")
