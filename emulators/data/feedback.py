"""How the four CAMELS feedback amplitudes act on the synthetic suite's gas (issue 15, item 2).

CAMELS IllustrisTNG 1P runs at z = 0.54 give, for groups of log M500c = 12.0-12.7 Msun/h (the median of 22-34 haloes
per run, numbers quoted in issue 15), the responses of the gas fraction within R500c and of the gas-mass-weighted
temperature within R500c to each amplitude (:data:`CAMELS_RESPONSES`):

    d ln f_gas,500 / d ln A = +0.47 (A_SN1), -0.03 (A_AGN1), -0.27 (A_SN2), -0.22 (A_AGN2),
    d ln T_mw / d ln A      = -0.03,         +0.01,          +0.33,         +0.12,

with f_gas peaking near A_SN2 = 0.9 rather than falling monotonically. The amplitudes act on two parameters of the
baryonification model (:class:`emulators.data.gas_profiles.GasModel`): the ejection radius theta_ej, how far out
feedback has pushed the bound gas (Schneider et al. 2019; the calibrated groups keep all their non-stellar baryons,
so feedback moves gas out of R500c rather than out of the halo), and the heating factor on the thermal pressure:

    ln theta_ej(A, z) = ln theta_ej,0 + sum_i r_f,i(z) g_i(ln A_i) / s_f,
    ln heating(A, z) = ln heating_0 + sum_i (r_T,i - s_T r_f,i(z) / s_f) g_i(ln A_i),

where s_f = d ln f_gas,500 / d ln theta_ej and s_T = d ln T_mw / d ln theta_ej are the model's own sensitivities for
such a group (computed from its profiles, :func:`sensitivities`), so that the mean group responds as CAMELS' does
(and the median of a box's groups, whose per-halo deviations scale their gas without moving theta_ej);
g_i(x) = x, except for A_SN2: g(x) = (x - x_p)^2 / (-2 x_p) + x_p / 2 with x_p = ln 0.9, a parabola in ln A_SN2 of
slope 1 at A_SN2 = 1, zero there, with its turning point at A_SN2 = 0.9.

The kinetic AGN mode that A_AGN1 scales dominates the feedback of these haloes only at late times (Weinberger et al.
2017): between z = 0.54 and 0 its response grows linearly in z from CAMELS' -0.03 to :data:`AGN1_LATE_RESPONSE`,
the value at which the model's z = 0 stacks move across the A_AGN1 sweep 1P_33-43 as CAMELS' do
(:func:`emulators.data.calibration.fit_agn1_late_response`). Omega_m and sigma_8 act through the dark matter and
f_b = Omega_b / Omega_m, not here.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from emulators.data.camels import CAMELS_OMEGA_B
from emulators.data.gas_profiles import GasModel, halo_observables, halo_profiles
from xcosmo.constants import RHO_CRIT_0
from xcosmo.params import PARAM_NAMES

__all__ = ["CAMELS_RESPONSES", "A_SN2_PEAK", "AGN1_LATE_RESPONSE", "feedback_gas_model", "gas_fraction_response",
           "sensitivities", "group_halo"]

CAMELS_RESPONSES: dict[str, tuple[float, float]] = {
    "a_sn1": (0.47, -0.03),
    "a_agn1": (-0.03, 0.01),
    "a_sn2": (-0.27, 0.33),
    "a_agn2": (-0.22, 0.12),
}
"""(d ln f_gas,500 / d ln A, d ln T_mw / d ln A) of CAMELS IllustrisTNG groups (log M500c 12.0-12.7, z = 0.54)."""
A_SN2_PEAK = 0.9
"""A_SN2 at which the CAMELS group gas fraction peaks."""
AGN1_LATE_RESPONSE = -0.137
"""d ln f_gas,500 / d ln A_AGN1 at z = 0 (module docstring; :func:`emulators.data.calibration.fit_agn1_late_response`)."""
GROUP_LOG_M500 = 12.35
GROUP_Z = 0.54
_OMEGA_M = 0.3
_F_B = CAMELS_OMEGA_B / _OMEGA_M


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
    """(d ln f_gas,500 / d ln theta_ej, d ln T_mw / d ln theta_ej) of the CAMELS-like group under ``base`` (centred
    differences, 5% in theta_ej)."""
    up = _observables(dataclasses.replace(base, theta_ej=base.theta_ej * 1.05))
    down = _observables(dataclasses.replace(base, theta_ej=base.theta_ej / 1.05))
    step = 2 * math.log(1.05)
    return (math.log(up[0] / down[0]) / step, math.log(up[1] / down[1]) / step)


def _g(name: str, ln_a: float) -> float:
    if name != "a_sn2":
        return ln_a
    x_p = math.log(A_SN2_PEAK)
    return (ln_a - x_p) ** 2 / (-2 * x_p) + x_p / 2


def gas_fraction_response(name: str, z: float, agn1_late: float | None = None) -> float:
    """d ln f_gas,500 / d ln A of the amplitude ``name`` at redshift ``z`` (module docstring)."""
    r_f = CAMELS_RESPONSES[name][0]
    if name != "a_agn1":
        return r_f
    late = AGN1_LATE_RESPONSE if agn1_late is None else agn1_late
    return late + (r_f - late) * min(max(z, 0.0) / GROUP_Z, 1.0)


def feedback_gas_model(theta, base: GasModel = GasModel(), *, z: float, agn1_late: float | None = None) -> GasModel:
    """The gas model for the parameters ``theta`` (a :class:`xcosmo.params.Params` or an array in the order of
    :data:`xcosmo.params.PARAM_NAMES`) at redshift ``z``: ``base`` with theta_ej and the heating factor set by the
    four amplitudes (module docstring); ``agn1_late`` replaces :data:`AGN1_LATE_RESPONSE` (for its calibration)."""
    values = dict(zip(PARAM_NAMES, np.asarray(theta.to_array() if hasattr(theta, "to_array") else theta, float)))
    s_f, s_t = sensitivities(base)
    ln_ej, ln_heat = math.log(base.theta_ej), math.log(base.heating)
    for name, (_, r_t) in CAMELS_RESPONSES.items():
        g = _g(name, math.log(values[name]))
        r_f = gas_fraction_response(name, z, agn1_late)
        ln_ej += r_f / s_f * g
        ln_heat += (r_t - s_t * r_f / s_f) * g
    return dataclasses.replace(base, theta_ej=math.exp(ln_ej), heating=math.exp(ln_heat))
