"""Checks of the eLDL's conditioning on held-out LH boxes (issue 16), beside figures 5 and 6
(:mod:`emulators.eldl.validation`), whose cluster measurements they reuse:

* **offsets**: on each held-out LH box and redshift, the mean log10 CR_[0.5-2] of the clusters detected on its dark
  matter, painter minus target (matched by construction: both are summed over the same detection masks);
* **feedback directions**: one held-out box made again with each feedback amplitude alone at the low and at the high
  end of its prior (:func:`emulators.data.suite.remake_box`: same dark matter, other gas), and the change of the mean
  log10 CR of its clusters from low to high, target against painter: the signs should agree;
* **redshift interpolation**: on one box's dark matter, the T model at the midpoint of two training redshifts against
  the model at both (mean kT of the voxels above :data:`~emulators.eldl.validation.VOXEL_OVERDENSITY` rho_c): the
  midpoint should lie between them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from emulators.eldl.samples import Sample
from emulators.eldl.validation import VOXEL_OVERDENSITY, rho_over_rho_c, cluster_rates, paint
from xcosmo.constants import DETECTION_OVERDENSITY
from xcosmo.params import PARAM_NAMES, PRIOR

__all__ = ["FEEDBACK", "mean_log_rates", "offsets", "feedback_directions", "feedback_variations", "redshift_interpolation"]

FEEDBACK = ("a_sn1", "a_sn2", "a_agn1", "a_agn2")
"""The feedback amplitudes varied one at a time."""


def mean_log_rates(sample: Sample, painted, threshold: float = DETECTION_OVERDENSITY) -> dict:
    """Mean log10 CR (counts/s) of the target and the ``painted`` fields over the clusters of ``sample`` that have
    both, and their number."""
    rates = cluster_rates(sample, painted, threshold=threshold)
    keep = (rates["target"] > 0) & (rates["painter"] > 0)
    if not keep.any():
        return {"n_clusters": 0, "target": float("nan"), "painter": float("nan")}
    return {"n_clusters": int(keep.sum()), "target": float(np.mean(np.log10(rates["target"][keep]))),
            "painter": float(np.mean(np.log10(rates["painter"][keep])))}  # fmt: skip


def offsets(painter: Callable, samples: Sequence[Sample], threshold: float = DETECTION_OVERDENSITY) -> dict:
    """Painter minus target mean log10 CR on each sample with clusters, and the largest offset in absolute value."""
    rows = []
    for s in samples:
        m = mean_log_rates(s, paint(painter, s), threshold)
        if m["n_clusters"]:
            rows.append({"box": s.index, "z": s.z, "n_clusters": m["n_clusters"], "offset_dex": m["painter"] - m["target"]})
    if not rows:
        raise ValueError(f"no cluster above {threshold:g} rho_c in the held-out LH boxes: nothing to compare")
    worst = max(abs(r["offset_dex"]) for r in rows)
    return {"boxes": rows, "max_abs_offset_dex": worst, "median_abs_offset_dex": float(np.median([abs(r["offset_dex"]) for r in rows]))}  # fmt: skip


def feedback_variations(plan: dict, sample: Sample) -> dict[str, tuple[Sample, Sample]]:
    """The box of ``sample`` made again with each feedback amplitude at the low and the high end of its prior (the
    other parameters as the box's), at the sample's redshift: name -> (low, high) samples."""
    from emulators.data.suite import remake_box

    out = {}
    for name in FEEDBACK:
        i = PARAM_NAMES.index(name)
        pair = []
        for value in (PRIOR.low[i], PRIOR.high[i]):
            theta = np.asarray(sample.theta, dtype=float).copy()
            theta[i] = value
            made = [m for m in remake_box(plan, sample.index, theta=theta) if abs(m.z - sample.z) < 1e-6][0]
            pair.append(Sample.from_training(made, sample.role, sample.index))
        out[name] = tuple(pair)
    return out


def feedback_directions(painter: Callable, variations: dict[str, tuple[Sample, Sample]],
                        threshold: float = DETECTION_OVERDENSITY) -> dict:  # fmt: skip
    """For each amplitude of :func:`feedback_variations`, the change from low to high of the mean log10 CR of the
    target and of the painter, and whether their signs agree."""
    out = {}
    for name, (low, high) in variations.items():
        lo, hi = (mean_log_rates(s, paint(painter, s), threshold) for s in (low, high))
        target, painted = hi["target"] - lo["target"], hi["painter"] - lo["painter"]
        out[name] = {"target_dex": target, "painter_dex": painted, "same_sign": bool(np.sign(target) == np.sign(painted))}
    return out


def redshift_interpolation(model, sample: Sample) -> dict:
    """Mean kT (keV) of the T model over the dense voxels of ``sample``'s dark matter at each training redshift and
    at each midpoint, and whether every midpoint lies between its neighbours."""
    import jax.numpy as jnp

    dense = rho_over_rho_c(sample) >= VOXEL_OVERDENSITY
    zs = list(model.t_redshifts)

    def mean_kt(z):
        kt = model.fields(sample.dx, jnp.asarray(sample.theta), z)[1]
        return float(np.mean(np.asarray(kt)[dense]))

    at = [mean_kt(z) for z in zs]
    rows = []
    for k in range(len(zs) - 1):
        mid = mean_kt(0.5 * (zs[k] + zs[k + 1]))
        rows.append({"z": [zs[k], zs[k + 1]], "kt_kev": [at[k], mid, at[k + 1]],
                     "between": bool(min(at[k], at[k + 1]) - 1e-6 <= mid <= max(at[k], at[k + 1]) + 1e-6)})  # fmt: skip
    return {"pairs": rows, "all_between": all(r["between"] for r in rows)}
