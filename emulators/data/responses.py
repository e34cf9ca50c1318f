"""The per-halo gas of synthetic boxes, measured the way issue 15 quotes CAMELS IllustrisTNG (1P runs, z = 0.54):
for the groups of log M500c = 12.0-12.7 Msun/h, the median over haloes of the gas fraction within R500c, f_gas,500,
and of the gas-mass-weighted temperature within R500c, T_mw; their responses d ln / d ln A to each feedback amplitude
(centred differences between the neighbouring values of the CAMELS 1P design, :data:`STEPS`); and their halo-to-halo
scatter, the standard deviation of log10 over the groups.

The haloes are those of a box's "hydro" dark matter (:func:`emulators.data.synthetic.hydro_haloes`), NFW haloes of
their M200c with the concentration the suite pastes (Duffy et al. 2008; M500c and R500c follow), each with the gas
model the suite pastes: the feedback amplitudes' (:mod:`emulators.data.feedback`) moved by its own dark matter
and its random part (:mod:`emulators.data.deviations`). The quantities are read from each halo's profiles rather than
from the pasted grid: R500c of these groups (0.1-0.2 Mpc/h) is smaller than a 0.39 Mpc/h voxel.

:func:`calibrate_deviations` sets the deviation amplitudes from such a box: the dark matter carries a share
(``predictable``) of the variance of each deviation, and the totals give the CAMELS scatters.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import jax
import numpy as np

from emulators.data.camels import CAMELS_OMEGA_B
from emulators.data.deviations import Deviations, halo_gas_models
from emulators.data.feedback import GROUP_Z, feedback_gas_model
from emulators.data.gas_profiles import duffy08_concentration, halo_observables, halo_profiles, nfw_m500c
from emulators.data.haloes import Haloes
from emulators.data.synthetic import SuiteSettings, hydro_haloes
from xcosmo.cosmology import Cosmology
from xcosmo.nbody import Box, snapshots
from xcosmo.params import PARAM_NAMES, Params

__all__ = ["GROUP_BIN", "STEPS", "CAMELS_SCATTER_DEX", "BoxHaloes", "box_haloes", "group_gas", "responses", "scatters",
           "calibrate_deviations"]  # fmt: skip

GROUP_BIN = (12.0, 12.7)
"""log10 M500c (Msun/h) of the groups of the CAMELS numbers."""
STEPS = {"a_sn1": 16**0.1, "a_agn1": 16**0.1, "a_sn2": 4**0.1, "a_agn2": 4**0.1}
"""Factor between neighbouring values of each amplitude in the CAMELS 1P design (11 log-spaced values across
[0.25, 4] for A_SN1, A_AGN1 and [0.5, 2] for A_SN2, A_AGN2)."""
CAMELS_SCATTER_DEX = (0.3, 0.2)
"""Halo-to-halo scatter of f_gas,500 and T_mw of the CAMELS groups, dex."""


@dataclass(frozen=True)
class BoxHaloes:
    """The haloes of one box's hydro dark matter at redshift z, their dark-matter predictors, and the box's theta."""

    haloes: Haloes
    predictors: np.ndarray
    theta: np.ndarray
    z: float

    @property
    def concentration(self) -> np.ndarray:
        """c200c of the haloes' profiles, Duffy et al. (2008) at their M200c (as the suite pastes them)."""
        return duffy08_concentration(self.haloes.m200c, self.z)

    @property
    def m500c(self) -> np.ndarray:
        """M500c of the haloes' profiles (NFW, Msun/h)."""
        return nfw_m500c(self.haloes.m200c, self.concentration)

    @property
    def groups(self) -> np.ndarray:
        """Indices of the haloes whose profiles' M500c is in :data:`GROUP_BIN`."""
        log_m = np.log10(self.m500c)
        return np.flatnonzero((log_m >= GROUP_BIN[0]) & (log_m < GROUP_BIN[1]))


def box_haloes(theta: Params, key: jax.Array, n_mesh: int, voxel_mpc_h: float, z: float = GROUP_Z,
               settings: SuiteSettings = SuiteSettings()) -> BoxHaloes:  # fmt: skip
    """Evolve one box's hydro dark matter (``settings.accurate``) to ``z`` and find its haloes."""
    theta = theta if isinstance(theta, Params) else Params.from_array(np.asarray(theta, dtype=float))
    cosmo = Cosmology.from_params(theta)
    dx = np.asarray(snapshots(cosmo, key, Box((n_mesh,) * 3, voxel_mpc_h), [1.0 / (1.0 + z)], settings.accurate))[0]
    haloes, _, predictors = hydro_haloes(dx, cosmo, z, voxel_mpc_h, settings.min_members)
    return BoxHaloes(haloes, predictors, np.asarray(theta.to_array()), z)


def group_gas(box: BoxHaloes, theta=None, settings: SuiteSettings = SuiteSettings(), seed: int = 0,
              deviations: Deviations | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(f_gas,500, T_mw [keV]) of the box's groups under ``theta`` (default: the box's own; module docstring), their
    random deviations drawn from ``seed`` (the same draws for every theta)."""
    theta = box.theta if theta is None else np.asarray(theta, dtype=float)
    p = dict(zip(PARAM_NAMES, theta))
    f_b = CAMELS_OMEGA_B / p["omega_m"]
    base = feedback_gas_model(theta, settings.gas, z=box.z)
    models = halo_gas_models(base, box.predictors, np.random.default_rng(seed), deviations or settings.deviations)
    h, a = box.haloes, 1.0 / (1.0 + box.z)
    c, m500 = box.concentration, box.m500c
    out = []
    for i in box.groups:
        r500 = h.r200c[i] * a * (m500[i] / (2.5 * h.m200c[i])) ** (1 / 3)
        prof = halo_profiles(h.m200c[i], h.r200c[i] * a, c[i], box.z, f_b, models[i], r500c=r500)
        out.append(halo_observables(prof, m500[i], r500))
    return tuple(np.array(x) for x in zip(*out)) if out else (np.array([]), np.array([]))


def responses(box: BoxHaloes, settings: SuiteSettings = SuiteSettings()) -> dict[str, tuple[float, float]]:
    """d ln median(f_gas,500) / d ln A and d ln median(T_mw) / d ln A of the box's groups for each amplitude (centred
    differences of :data:`STEPS` around the box's theta)."""
    out = {}
    for name, step in STEPS.items():
        i = PARAM_NAMES.index(name)
        up, down = box.theta.copy(), box.theta.copy()
        up[i] *= step
        down[i] /= step
        hi, lo = group_gas(box, up, settings), group_gas(box, down, settings)
        d = 2 * math.log(step)
        out[name] = tuple(float(math.log(np.median(h) / np.median(l)) / d) for h, l in zip(hi, lo))
    return out


def scatters(box: BoxHaloes, settings: SuiteSettings = SuiteSettings(), deviations: Deviations | None = None
             ) -> tuple[float, float]:  # fmt: skip
    """Standard deviation of log10 f_gas,500 and log10 T_mw over the box's groups (dex)."""
    f, t = group_gas(box, settings=settings, deviations=deviations)
    return float(np.std(np.log10(f))), float(np.std(np.log10(t)))


def calibrate_deviations(box: BoxHaloes, settings: SuiteSettings = SuiteSettings(), predictable: float = 0.5,
                         target_dex: tuple[float, float] = CAMELS_SCATTER_DEX) -> Deviations:  # fmt: skip
    """Deviation amplitudes that give the box's groups the ``target_dex`` scatters of f_gas,500 and T_mw, with the
    share ``predictable`` of each deviation's variance carried by the dark matter: on the gas scale, concentration
    and environment with opposite signs (:mod:`emulators.data.deviations`), on ln heating, the shape."""
    from scipy.optimize import brentq

    if not 0.0 <= predictable <= 1.0:
        raise ValueError(f"predictable = {predictable}: a share of variance, between 0 and 1")
    if box.groups.size < 5:
        raise ValueError(f"{box.groups.size} groups in log M500c {GROUP_BIN}: too few to measure a scatter")
    shared, own = math.sqrt(predictable), math.sqrt(1.0 - predictable)

    def deviations(s, t):
        return Deviations(a_c=-s * shared / math.sqrt(2), a_s=0.0, a_e=s * shared / math.sqrt(2), sigma_f=s * own,
                          b_c=0.0, b_s=-t * shared, b_e=0.0, sigma_t=t * own)  # fmt: skip

    def solve(index, fn, hi):
        lo_value = fn(0.0) - target_dex[index]
        return 0.0 if lo_value >= 0 else brentq(lambda x: fn(x) - target_dex[index], 0.0, hi, xtol=1e-3)

    s = solve(0, lambda x: scatters(box, settings, deviations(x, 0.0))[0], 4.0)
    t = solve(1, lambda x: scatters(box, settings, deviations(s, x))[1], 3.0)
    return dataclasses.replace(deviations(s, t))

