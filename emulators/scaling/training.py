"""From a measurement campaign to a validated emulator: the relations of every design point, a leave-out validation,
and the emulator fitted on all points.

1. :func:`measurements`: the relations of each finished design point of a ``scaling`` campaign store
   (:func:`~emulators.scaling.relations.fit_relations` on its catalogue), with their bootstrap errors;
2. :func:`validate`: the emulator fitted without a held-out fraction of the points, and on those the standardised
   residuals r = (y - mu) / sqrt(sigma_emu^2 + e^2 + s^2) of each quantity (measured y with error e, emulator mean mu
   and error sigma_emu, fitted nugget s; calibrated when std(r) ~ 1), and the ratio sigma_emu / e (below 1: the
   emulator knows a relation better than one measurement does);
3. :func:`fit_and_validate`: both, then the emulator fitted on every point (the one to ship), with the report.
"""

from __future__ import annotations

import numpy as np

from emulators.scaling.emulator import ScalingRelationEmulator, fit_emulator
from emulators.scaling.relations import RELATION_NAMES, fit_relations
from xcosmo.checks import check_number, fail
from xcosmo.precision import float64

__all__ = ["measurements", "validate", "fit_and_validate", "HOLDOUT_FRACTION"]

HOLDOUT_FRACTION = 0.2
"""Fraction of the design points held out by the leave-out validation."""


def measurements(store, *, n_boot: int = 200, min_points: int = 5) -> dict:
    """The relations of every finished design point of the ``scaling`` campaign ``store`` (path or
    :class:`xcosmo.campaign.CampaignStore`): ``{"index", "theta_z", "unit", "value", "error", "n_clusters"}``,
    arrays over the points (points with too few clusters to fit are left out and listed in ``"skipped"``)."""
    from xcosmo.campaign.simulators import simulator_from_spec
    from xcosmo.campaign.store import DONE, CampaignStore

    store = store if isinstance(store, CampaignStore) else CampaignStore.open(store)
    spec = store.attrs["simulator"]
    if spec.get("name") != "scaling":
        fail("store", str(store.path), f"a scaling-relation measurement (campaign simulator 'scaling'), not a "
                                       f"{spec.get('name')!r} campaign")  # fmt: skip
    done = np.flatnonzero(store.status() == DONE)
    rows, skipped = [], []
    catalogues = store.xods(done)
    for i, cat in zip(done, catalogues):
        try:
            fit = fit_relations(cat, n_boot=n_boot, seed=int(i))
        except ValueError:
            skipped.append(int(i))
            continue
        rows.append((int(i), fit["value"], fit["error"], fit["n_clusters"]))
    if len(rows) < min_points:
        fail("store", str(store.path), f"at least {min_points} measured design points ({len(rows)} of {store.n} "
                                       "are finished with enough clusters: run the campaign further)")  # fmt: skip
    index = np.array([r[0] for r in rows])
    theta_z = store.theta[index]
    return {"index": index, "theta_z": theta_z, "unit": simulator_from_spec(spec).to_unit(theta_z),
            "value": np.stack([r[1] for r in rows]), "error": np.stack([r[2] for r in rows]),
            "n_clusters": np.array([r[3] for r in rows]), "skipped": skipped}  # fmt: skip


@float64
def validate(data: dict, *, holdout: float = HOLDOUT_FRACTION, seed: int = 0, **settings) -> dict:
    """The leave-out validation of the module docstring on ``data`` (:func:`measurements`): per quantity the
    standard deviation of the standardised residuals and the median ratio of the emulator's error to the
    measurement's, on the held-out points."""
    check_number("holdout", holdout, 0.0, 1.0, open=True)
    n = len(data["index"])
    order = np.random.default_rng(seed).permutation(n)
    n_out = max(1, int(round(holdout * n)))
    test, train = order[:n_out], order[n_out:]
    emulator = fit_emulator(data["unit"][train], data["value"][train], data["error"][train], **settings)
    mean, std = (np.asarray(a) for a in emulator.predict_unit(data["unit"][test]))
    nugget = np.array([float(gp.nugget) for gp in emulator.gps])
    y, e = data["value"][test], data["error"][test]
    pulls = (y - mean) / np.sqrt(std**2 + e**2 + nugget**2)
    return {"n_train": int(train.size), "n_test": int(test.size), "test_index": data["index"][test].tolist(),
            "pull_std": dict(zip(RELATION_NAMES, pulls.std(axis=0).tolist())),
            "pull_mean": dict(zip(RELATION_NAMES, pulls.mean(axis=0).tolist())),
            "error_ratio_median": dict(zip(RELATION_NAMES, np.median(std / e, axis=0).tolist())),
            "nugget": dict(zip(RELATION_NAMES, nugget.tolist())),
            "pulls": pulls.tolist(), "predicted": mean.tolist(), "predicted_std": std.tolist()}  # fmt: skip


@float64
def fit_and_validate(data: dict, *, holdout: float = HOLDOUT_FRACTION, seed: int = 0, **settings
                     ) -> tuple[ScalingRelationEmulator, dict]:  # fmt: skip
    """:func:`validate`, then the emulator fitted on every point of ``data``; returns it and the validation."""
    report = validate(data, holdout=holdout, seed=seed, **settings)
    return fit_emulator(data["unit"], data["value"], data["error"], **settings), report
