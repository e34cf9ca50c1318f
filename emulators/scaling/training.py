"""From a measurement campaign to a validated emulator: the relations of every design point, a leave-out validation,
and the emulator fitted on all points.

1. :func:`measurements`: the relations of each finished design point of a ``scaling`` campaign store
   (:func:`~emulators.scaling.relations.fit_relations` on its catalogue), with their bootstrap errors;
2. :func:`validate`: k-fold cross-validation. The points are split at random into ``folds`` groups; each group is
   predicted by the emulator fitted on the others, so that every point is held out once. On the held-out points: the
   standardised residuals r = (y - mu) / sqrt(sigma_emu^2 + e^2 + s^2) of each quantity (measured y with error e,
   emulator mean mu and error sigma_emu, fitted nugget s; calibrated when std(r) ~ 1), and the ratio sigma_emu / e
   (below 1: the emulator knows a relation better than one measurement does). Holding out every point once, rather
   than one fraction, makes the standard deviation of r a statistic of all the points (of a few dozen, its sampling
   error is ~ 1 / sqrt(2 n), 10% at n = 50);
3. :func:`fit_and_validate`: both, then the emulator fitted on every point (the one to ship), with the report.
"""

from __future__ import annotations

import os

import numpy as np

from emulators.scaling.emulator import ScalingRelationEmulator, fit_emulator
from emulators.scaling.relations import RELATION_NAMES, fit_relations
from xcosmo.checks import check_integer, fail
from xcosmo.precision import float64

__all__ = ["measurements", "validate", "fit_and_validate", "FOLDS"]

FOLDS = 5
"""Groups of the cross-validation: each point is predicted by an emulator fitted on the other 80% of them."""


def measurements(stores, *, n_boot: int = 200, min_points: int = 5) -> dict:
    """The relations of every finished design point of one ``scaling`` campaign store, or of several pooled (paths or
    :class:`xcosmo.campaign.CampaignStore`; their volumes and painter must be the same, their designs should differ:
    another ``--seed``): ``{"store", "index", "theta_z", "unit", "value", "error", "n_clusters"}``, arrays over the
    points, ``"store"`` the position of each point's store in ``stores`` (points with too few clusters to fit are
    left out and listed in ``"skipped"`` as (store, index))."""
    from xcosmo.campaign.simulators import simulator_from_spec
    from xcosmo.campaign.store import DONE, CampaignStore

    stores = [stores] if isinstance(stores, (str, os.PathLike, CampaignStore)) else list(stores)
    stores = [s if isinstance(s, CampaignStore) else CampaignStore.open(s) for s in stores]
    if not stores:
        fail("stores", "none", "at least one scaling campaign store")
    spec = stores[0].attrs["simulator"]
    for store in stores:
        if store.attrs["simulator"].get("name") != "scaling":
            fail("store", str(store.path), f"a scaling-relation measurement (campaign simulator 'scaling'), not a "
                                           f"{store.attrs['simulator'].get('name')!r} campaign")  # fmt: skip
        if store.attrs["simulator"] != spec:
            fail("store", str(store.path), f"the volumes and painter of {str(stores[0].path)!r} to be pooled with it "
                                           f"({spec}, not {store.attrs['simulator']})")  # fmt: skip
    rows, skipped = [], []
    for k, store in enumerate(stores):
        done = np.flatnonzero(store.status() == DONE)
        for i, cat in zip(done, store.xods(done)):
            try:
                fit = fit_relations(cat, n_boot=n_boot, seed=int(i) + 1_000_003 * k)
            except ValueError:
                skipped.append((k, int(i)))
                continue
            rows.append((k, int(i), store.theta[i], fit["value"], fit["error"], fit["n_clusters"]))
    if len(rows) < min_points:
        fail("stores", ", ".join(str(s.path) for s in stores),
             f"at least {min_points} measured design points ({len(rows)} of {sum(s.n for s in stores)} are finished "
             "with enough clusters: run the campaign further)")  # fmt: skip
    store_of, index, theta_z, value, error, n_clusters = (np.array(c) for c in zip(*rows))
    return {"store": store_of, "index": index, "theta_z": theta_z, "unit": simulator_from_spec(spec).to_unit(theta_z),
            "value": value, "error": error, "n_clusters": n_clusters, "skipped": skipped}  # fmt: skip


@float64
def validate(data: dict, *, folds: int = FOLDS, seed: int = 0, **settings) -> dict:
    """The cross-validation of the module docstring on ``data`` (:func:`measurements`): per quantity the mean and
    standard deviation of the standardised residuals of the held-out points and the median ratio of the emulator's
    error to the measurement's. ``seed`` draws the folds; ``settings`` go to :func:`fit_emulator`."""
    n = len(data["index"])
    folds = check_integer("folds", folds, 2)
    if folds > n:
        fail("folds", folds, f"at most the number of measured design points ({n})")
    fold = np.random.default_rng(seed).permutation(n) % folds
    mean, std = np.zeros_like(data["value"]), np.zeros_like(data["value"])
    nuggets = []
    for k in range(folds):
        test, train = fold == k, fold != k
        emulator = fit_emulator(data["unit"][train], data["value"][train], data["error"][train], **settings)
        mean[test], std[test] = (np.asarray(a) for a in emulator.predict_unit(data["unit"][test]))
        nuggets.append([float(gp.nugget) for gp in emulator.gps])
    nugget = np.array(nuggets)[fold]  # each point's own fold's
    y, e = data["value"], data["error"]
    pulls = (y - mean) / np.sqrt(std**2 + e**2 + nugget**2)
    return {"folds": folds, "n_points": n, "fold": fold.tolist(),
            "pull_std": dict(zip(RELATION_NAMES, pulls.std(axis=0).tolist())),
            "pull_mean": dict(zip(RELATION_NAMES, pulls.mean(axis=0).tolist())),
            "error_ratio_median": dict(zip(RELATION_NAMES, np.median(std / e, axis=0).tolist())),
            "nugget": dict(zip(RELATION_NAMES, np.median(nuggets, axis=0).tolist())),
            "pulls": pulls.tolist(), "predicted": mean.tolist(), "predicted_std": std.tolist()}  # fmt: skip


@float64
def fit_and_validate(data: dict, *, folds: int = FOLDS, seed: int = 0, **settings
                     ) -> tuple[ScalingRelationEmulator, dict]:  # fmt: skip
    """:func:`validate`, then the emulator fitted on every point of ``data``; returns it and the validation."""
    report = validate(data, folds=folds, seed=seed, **settings)
    return fit_emulator(data["unit"], data["value"], data["error"], **settings), report
