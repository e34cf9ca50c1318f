"""Per-halo deviations of the synthetic gas from the mean relations, tied to each halo's own dark matter (issue 15).

The paper's eLDL predicts part of each cluster's deviation from the mean CR-M relation from the 3-D dark matter
(figure 6: correlation 0.88). For the synthetic suite to teach that, each halo's gas model departs from the mean by
amounts that depend on its dark matter, plus a random part that nothing in the dark matter predicts:

    ln gas_scale_h = a_c z_c + a_s z_s + a_e z_e + sigma_f eps_f,
    ln heating_h = ln heating + b_c z_c + b_s z_s + b_e z_e + sigma_T eps_T,

with z the standardised (zero mean, unit variance over the box's haloes) ln c200c, sphericity c/a and environment
ln(1 + delta) of the dark matter smoothed on ``ENV_SMOOTHING`` Mpc/h around the halo, and eps standard normal draws
from the box's key. The gas scale multiplies the halo's bound gas fraction (:class:`emulators.data.gas_profiles.
GasModel`) and leaves its profile's shape, so every halo responds to the feedback amplitudes (which move theta_ej)
as the mean halo does. The signs follow the hydrodynamical simulations: at fixed mass, more concentrated (earlier-
forming) haloes host more massive black holes that have pushed more gas out (Davies et al. 2020, EAGLE and
IllustrisTNG), so their gas fraction is lower (a_c < 0); haloes in denser surroundings keep more gas (a_e > 0);
disturbed, aspherical haloes are hotter for their mass (merger shocks,
b_s < 0). The defaults are :func:`emulators.data.responses.calibrate_deviations` on a fiducial box: the dark matter
carries half the variance of each deviation, and the amplitudes give the CAMELS halo-to-halo scatters of the groups
(0.3 dex in f_gas,500, 0.2 dex in T_mw within R500c, log M500c = 12.0-12.7, z = 0.54).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from emulators.data.gas_profiles import GasModel
from emulators.data.haloes import Haloes
from emulators.data.paste import smooth_periodic

__all__ = ["Deviations", "halo_gas_models", "dark_matter_predictors", "ENV_SMOOTHING"]

ENV_SMOOTHING = 2.0
"""Gaussian smoothing of the dark matter defining a halo's environment, Mpc/h (comoving)."""


@dataclass(frozen=True)
class Deviations:
    """Amplitudes of the per-halo deviations (module docstring): (a_c, a_s, a_e, sigma_f) on ln gas_scale and
    (b_c, b_s, b_e, sigma_T) on ln heating."""

    a_c: float = -0.421
    a_s: float = 0.0
    a_e: float = 0.421
    sigma_f: float = 0.595
    b_c: float = 0.0
    b_s: float = -0.312
    b_e: float = 0.0
    sigma_t: float = 0.312


def _standardise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    finite = np.isfinite(x)
    if finite.sum() < 2 or np.std(x[finite]) == 0:
        return np.zeros_like(x)
    z = (x - np.mean(x[finite])) / np.std(x[finite])
    return np.where(finite, z, 0.0)


def dark_matter_predictors(haloes: Haloes, dm_density: np.ndarray, box_mpc_h: float) -> np.ndarray:
    """(n_haloes, 3) standardised ln c200c, sphericity c/a and environment ln(1 + delta) (smoothed on
    :data:`ENV_SMOOTHING` Mpc/h, read at the halo's centre): what the dark matter says about each halo."""
    n = dm_density.shape[0]
    voxel = box_mpc_h / n
    env = smooth_periodic(dm_density, ENV_SMOOTHING / voxel)
    idx = np.mod(np.round(haloes.centre / voxel).astype(int), n)
    local = np.maximum(env[idx[:, 0], idx[:, 1], idx[:, 2]], 1e-3)
    return np.stack([_standardise(np.log(haloes.c200c)), _standardise(haloes.axis_ratios[:, 1]),
                     _standardise(np.log(local))], axis=1)  # fmt: skip


def halo_gas_models(base: GasModel, predictors: np.ndarray, rng: np.random.Generator,
                    deviations: Deviations = Deviations()) -> list[GasModel]:  # fmt: skip
    """One gas model per halo: ``base`` with its gas scale and heating factor moved by the halo's dark-matter predictors
    (:func:`dark_matter_predictors`) and by random draws from ``rng``."""
    d = deviations
    eps = rng.standard_normal((len(predictors), 2))
    ln_scale = predictors @ np.array([d.a_c, d.a_s, d.a_e]) + d.sigma_f * eps[:, 0]
    ln_heat = predictors @ np.array([d.b_c, d.b_s, d.b_e]) + d.sigma_t * eps[:, 1]
    return [dataclasses.replace(base, gas_scale=base.gas_scale * float(np.exp(x)), heating=base.heating * float(np.exp(y)))
            for x, y in zip(ln_scale, ln_heat)]  # fmt: skip
