"""How the four CAMELS feedback amplitudes act on the synthetic suite's gas (issue 15, item 2).

CAMELS IllustrisTNG 1P runs at z = 0.54 give, for groups of log M500c = 12.0-12.7 Msun/h (the median of 22-34 haloes
per run, numbers quoted in issue 15), the responses of the gas fraction within R500c and of the gas-mass-weighted
temperature within R500c to each amplitude (:data:`CAMELS_RESPONSES`):

    d ln f_gas,500 / d ln A = +0.47 (A_SN1), -0.03 (A_AGN1), -0.27 (A_SN2), -0.22 (A_AGN2),
    d ln T_mw / d ln A      = -0.03,         +0.01,          +0.33,         +0.12,

with f_gas peaking near A_SN2 = 0.9 rather than falling monotonically. The amplitudes act on two parameters of the
baryonification model (:class:`emulators.data.gas_profiles.GasModel`), the gas-removal mass M_c (Schneider &
Teyssier 2015: feedback strength sets how much gas a halo keeps) and the heating factor on the thermal pressure:

    ln M_c(A) = ln M_c,0 + sum_i r_f,i g_i(ln A_i) / s_f,
    ln heating(A) = sum_i (r_T,i - s_T r_f,i / s_f) g_i(ln A_i),

where s_f = d ln f_gas,500 / d ln M_c and s_T = d ln T_mw / d ln M_c are the model's own sensitivities for such a
group (computed from its profiles, :func:`sensitivities`), so that the mean group responds as CAMELS' does;
g_i(x) = x, except for A_SN2: g(x) = (x - x_p)^2 / (-2 x_p) + x_p / 2 with x_p = ln 0.9, a parabola in ln A_SN2 of
slope 1 at A_SN2 = 1, zero there, with its turning point at A_SN2 = 0.9. Omega_m and sigma_8 act through the dark
matter and f_b = Omega_b / Omega_m, not here.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from emulators.data.gas_profiles import GasModel, halo_observables, halo_profiles
from xcosmo.constants import RHO_CRIT_0
from xcosmo.params import PARAM_NAMES

__all__ = ["CAMELS_RESPONSES", "A_SN2_PEAK", "feedback_gas_model", "sensitivities", "group_halo"]

CAMELS_RESPONSES: dict[str, tuple[float, float]] = {
    "a_sn1": (0.47, -0.03),
    "a_agn1": (-0.03, 0.01),
    "a_sn2": (-0.27, 0.33),
    "a_agn2": (-0.22, 0.12),
}
"""(d ln f_gas,500 / d ln A, d ln T_mw / d ln A) of CAMELS IllustrisTNG groups (log M500c 12.0-12.7, z = 0.54)."""
A_SN2_PEAK = 0.9
"""A_SN2 at which the CAMELS group gas fraction peaks."""
GROUP_LOG_M500 = 12.35
GROUP_Z = 0.54
_OMEGA_M, _F_B = 0.3, 0.049 / 0.3


def group_halo(log_m500c: float = GROUP_LOG_M500, z: float = GROUP_Z, c200c: float = 6.0):
    """(M200c, R200c, R500c, M500c) of an NFW halo with the given log10 M500c (Msun/h), physical Mpc/h radii."""
    rho_c = RHO_CRIT_0 * (_OMEGA_M * (1 + z) ** 3 + 1 - _OMEGA_M)
    m = lambda y: math.log1p(y) - y / (1 + y)  # noqa: E731
    x = 0.6  # R500 / R200, solved by fixed point: mean density within x R200 is 2.5 that within R200
    for _ in range(100):
        x = (m(c200c * x) / m(c200c) / 2.5) ** (1 / 3)
    m500 = 10**log_m500c
    m200 = m500 * m(c200c) / m(c200c * x)
    r200 = (3 * m200 / (4 * math.pi * 200 * rho_c)) ** (1 / 3)
    return m200, r200, x * r200, m500


def _observables(model: GasModel) -> tuple[float, float]:
    m200, r200, r500, m500 = group_halo()
    prof = halo_profiles(m200, r200, 6.0, GROUP_Z, _F_B, model, r500c=r500)
    return halo_observables(prof, m500, r500)


@functools.lru_cache(maxsize=16)
def sensitivities(base: GasModel) -> tuple[float, float]:
    """(d ln f_gas,500 / d ln M_c, d ln T_mw / d ln M_c) of the CAMELS-like group under ``base`` (centred
    differences, 5% in M_c)."""
    up = _observables(dataclasses.replace(base, m_c=base.m_c * 1.05))
    down = _observables(dataclasses.replace(base, m_c=base.m_c / 1.05))
    step = 2 * math.log(1.05)
    return (math.log(up[0] / down[0]) / step, math.log(up[1] / down[1]) / step)


def _g(name: str, ln_a: float) -> float:
    if name != "a_sn2":
        return ln_a
    x_p = math.log(A_SN2_PEAK)
    return (ln_a - x_p) ** 2 / (-2 * x_p) + x_p / 2


def feedback_gas_model(theta, base: GasModel = GasModel()) -> GasModel:
    """The gas model for the parameters ``theta`` (a :class:`xcosmo.params.Params` or an array in the order of
    :data:`xcosmo.params.PARAM_NAMES`): ``base`` with M_c and the heating factor set by the four amplitudes (module
    docstring)."""
    values = dict(zip(PARAM_NAMES, np.asarray(theta.to_array() if hasattr(theta, "to_array") else theta, float)))
    s_f, s_t = sensitivities(base)
    ln_mc, ln_heat = math.log(base.m_c), math.log(base.heating)
    for name, (r_f, r_t) in CAMELS_RESPONSES.items():
        g = _g(name, math.log(values[name]))
        ln_mc += r_f / s_f * g
        ln_heat += (r_t - s_t * r_f / s_f) * g
    return dataclasses.replace(base, m_c=math.exp(ln_mc), heating=math.exp(ln_heat))
