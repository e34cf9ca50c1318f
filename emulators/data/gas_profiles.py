"""Gas in haloes for the synthetic training suite: baryonification density profiles and hydrostatic temperatures.

For a halo of mass M200c, radius R200c and NFW concentration c at redshift z (physical radii r here):

* **gas fraction** (Schneider & Teyssier 2015, their constant slope beta_f): the bound gas is the baryons that
  feedback did not eject and stars did not take, f_gas(M) = (f_b - f_star(M)) / (1 + (M_c / M)^beta_f), f_b =
  Omega_b / Omega_m, monotonic in M and in M_c, times a halo's own ``gas_scale`` (its deviation from the mean);
  stellar fraction f_star(M) = 0.09 (M / 2.5e11 Msun/h)^-0.35;
* **profile slope** (Schneider et al. 2019): beta(M) = 3 - (M_beta / M)^mu, clipped to [0.05, 3], with M_beta = M_c
  unless set apart: haloes well above it keep an NFW-like r^-3 gas profile, haloes below it a flat, extended one;
* **density** (Schneider et al. 2019; the outer slope delta free as in Giri & Schneider 2021): rho_gas(r)
  proportional to [(1 + r / r_co)^beta (1 + (r / r_ej)^2)^((delta - beta) / 2)]^-1, r_co = theta_co R200c,
  r_ej = theta_ej R200c: a core, then r^-beta, falling as r^-delta beyond r_ej; normalised so that all of it (to
  ``R_OUT`` R200c, where the r^-7 tail has converged) is f_gas M200c, as in Schneider et al. (2019): the gas
  within R200c or R500c is less, the more so the larger theta_ej;
* **pressure** from hydrostatic equilibrium in the NFW potential of the total mass, dP/dr = -rho_gas G M(<r) / r^2,
  integrated inwards from 20 R200c where P = 0; a non-thermal share alpha_nt(r) = alpha_0 (1 + z)^0.5
  (r / R500c)^0.8, capped at 0.6 (Shaw et al. 2010, alpha_0 = 0.18), so P_th = (1 - alpha_nt) P;
* **temperature**: kT = mu m_p P_th / rho_gas (mu = 0.59, fully ionised gas of X_H = 0.76, Z = 0.3 Zsun), and
  n_e = rho_gas / (mu_e m_p) with mu_e = 2 / (1 + X_H).

:class:`GasModel` holds the parameters, calibrated on CAMELS (:mod:`emulators.data.calibration`); the feedback
amplitudes move theta_ej and the heating (:mod:`emulators.data.feedback`), each halo's deviations its gas scale and
heating (:mod:`emulators.data.deviations`). :func:`halo_profiles` tabulates rho_gas, n_e, P_th and kT of one halo on
radii, in physical units (Msun/h, Mpc/h, keV). Numpy float64: the suite is built once, on the host.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xcosmo.checks import check_number
from xcosmo.constants import HYDROGEN_MASS_FRACTION, KEV_ERG, M_PROTON_G, MPC_CM, MSUN_G

__all__ = ["duffy08_concentration", "nfw_m500c", "GasModel", "HaloProfiles", "halo_profiles", "halo_observables", "gas_fraction", "profile_slope", "stellar_fraction", "MU", "MU_E", "R_OUT"]

X_H = HYDROGEN_MASS_FRACTION
MU = 4.0 / (3.0 + 5.0 * X_H)
"""Mean molecular weight of fully ionised H + He gas (0.59)."""
MU_E = 2.0 / (1.0 + X_H)
"""Mean mass per electron in proton masses (1.14)."""
R_OUT = 20.0
"""Outer edge of the profiles, in R200c: the bound gas f_gas M200c is the gas within it, and P = 0 there."""
G_KMS2_MPC_MSUN = 4.30091727e-9
"""Newton's constant in (km/s)^2 Mpc / Msun (the same in h-units: (km/s)^2 (Mpc/h) / (Msun/h))."""


@dataclass(frozen=True)
class GasModel:
    """Parameters of the baryonification gas profiles (Schneider et al. 2019 notation).

    The defaults are the fit to the CAMELS IllustrisTNG fiducial stacks (:func:`emulators.data.calibration.
    fit_gas_model`: M_beta, mu, theta_ej and heating free, the rest :data:`emulators.data.calibration.FIXED`).

    Attributes
    ----------
    m_c : mass below which feedback has removed half the gas, Msun/h (their M_c; calibrated: 1e10, below every
        resolved halo: the CAMELS groups keep their non-stellar baryons bound, and feedback moves them outwards).
    beta_f : slope of the gas fraction with M_c / M (Schneider & Teyssier 2015: 0.6).
    mu : how fast the slope beta(M) = 3 - (M_beta / M)^mu approaches 3 above M_beta (their mu; calibrated 0.072).
    m_beta : the mass scale of the profile slope, Msun/h (calibrated 5.5e12); None: M_c (Schneider et al. 2019's
        single scale).
    theta_co : core radius in R200c (0.02: the stacks show no core beyond 0.1 R200c).
    theta_ej : ejection radius in R200c (calibrated 1.81), the radius through which feedback acts on the gas fraction
        within R500c (:mod:`emulators.data.feedback`).
    delta : slope of the density beyond r_ej (Schneider et al. 2019: 7; must exceed 3 for a finite mass).
    alpha_0 : non-thermal pressure share at R500c and z = 0 (Shaw et al. 2010: 0.18).
    heating : factor on the thermal pressure, hence on kT, relative to hydrostatic equilibrium: the temperature
        normalisation through which feedback heats the gas (1 = hydrostatic; calibrated 1.31).
    gas_scale : factor on the bound gas fraction of one halo (1 for the mean halo; the per-halo deviations of
        :mod:`emulators.data.deviations`). Not capped at f_b: the bound gas reaches out to ``R_OUT`` R200c, whose
        sphere holds many times M200c.
    """

    m_c: float = 1e10
    beta_f: float = 0.6
    mu: float = 0.072
    theta_co: float = 0.02
    theta_ej: float = 1.81
    delta: float = 7.0
    alpha_0: float = 0.18
    heating: float = 1.31
    m_beta: float | None = 5.48e12
    gas_scale: float = 1.0

    def __post_init__(self):
        check_number("m_c", self.m_c, 0.0, math.inf, open=True, unit="Msun/h")
        check_number("beta_f", self.beta_f, 0.0, 5.0, open=True)
        check_number("mu", self.mu, 0.0, 2.0, open=True)
        check_number("theta_co", self.theta_co, 0.0, math.inf, open=True)
        check_number("theta_ej", self.theta_ej, 0.0, math.inf, open=True)
        check_number("delta", self.delta, 3.0, 20.0, open=True)
        check_number("alpha_0", self.alpha_0, 0.0, 1.0)
        check_number("heating", self.heating, 0.0, math.inf, open=True)
        check_number("gas_scale", self.gas_scale, 0.0, math.inf, open=True)
        if self.m_beta is not None:
            check_number("m_beta", self.m_beta, 0.0, math.inf, open=True, unit="Msun/h")


def stellar_fraction(m200c: np.ndarray) -> np.ndarray:
    """Stellar mass fraction of a halo, 0.09 (M / 2.5e11 Msun/h)^-0.35 (module docstring)."""
    return 0.09 * (np.asarray(m200c, dtype=float) / 2.5e11) ** -0.35


def profile_slope(m200c: np.ndarray, model: GasModel) -> np.ndarray:
    """beta(M) = 3 - (M_beta / M)^mu, clipped to [0.05, 3]."""
    scale = model.m_c if model.m_beta is None else model.m_beta
    return np.clip(3.0 - (scale / np.asarray(m200c, dtype=float)) ** model.mu, 0.05, 3.0)


def gas_fraction(m200c: np.ndarray, f_b: float, model: GasModel) -> np.ndarray:
    """Bound gas fraction gas_scale (f_b - f_star(M)) / (1 + (M_c / M)^beta_f), floored at 0."""
    m = np.asarray(m200c, dtype=float)
    return np.maximum(model.gas_scale * (f_b - stellar_fraction(m)) / (1.0 + (model.m_c / m) ** model.beta_f), 0.0)


@dataclass(frozen=True)
class HaloProfiles:
    """Radial profiles of one halo's gas (physical units).

    Attributes
    ----------
    r : radii, Mpc/h (physical), increasing.
    rho_gas : gas density, (Msun/h) / (Mpc/h)^3 (physical).
    n_e : electron density, cm^-3 h^2 (physical; multiply by h^2 for cm^-3).
    p_th : thermal pressure, (Msun/h) / (Mpc/h)^3 (km/s)^2.
    kt : temperature, keV.
    m_gas : gas mass within each radius, Msun/h.
    """

    r: np.ndarray
    rho_gas: np.ndarray
    n_e: np.ndarray
    p_th: np.ndarray
    kt: np.ndarray
    m_gas: np.ndarray


def _nfw_enclosed(r, m200, r200, c):
    m = lambda y: np.log1p(y) - y / (1.0 + y)  # noqa: E731
    return m200 * m(c * r / r200) / m(c)


def _cumulative(f, r):
    """int_0^r f dr on the grid r (trapezoid, starting from 0 at r = 0)."""
    return np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(r))])


def halo_profiles(m200c: float, r200c: float, c200c: float, z: float, f_b: float, model: GasModel = GasModel(),
                  r500c: float | None = None, n_r: int = 512) -> HaloProfiles:  # fmt: skip
    """The gas of one halo (module docstring), tabulated on ``n_r`` log-spaced radii from 1e-3 to ``R_OUT`` R200c.

    ``r200c``, ``r500c`` are physical radii (Mpc/h); without ``r500c`` it follows from the NFW profile.
    """
    check_number("m200c", m200c, 0.0, math.inf, open=True, unit="Msun/h")
    check_number("r200c", r200c, 0.0, math.inf, open=True, unit="Mpc/h")
    check_number("c200c", c200c, 0.0, 100.0, open=True)
    check_number("z", z, 0.0, 20.0)
    r = np.geomspace(1e-3, R_OUT, n_r) * r200c
    beta = float(profile_slope(m200c, model))
    shape = 1.0 / ((1.0 + r / (model.theta_co * r200c)) ** beta
                   * (1.0 + (r / (model.theta_ej * r200c)) ** 2) ** ((model.delta - beta) / 2.0))  # fmt: skip
    mass_shape = _cumulative(4.0 * math.pi * r**2 * shape, r) + 4.0 / 3.0 * math.pi * r[0] ** 3 * shape[0]
    f_gas = float(gas_fraction(m200c, f_b, model))
    norm = f_gas * m200c / mass_shape[-1]
    rho = norm * shape
    m_gas = norm * mass_shape
    gravity = rho * G_KMS2_MPC_MSUN * _nfw_enclosed(r, m200c, r200c, c200c) / r**2  # per (Mpc/h)
    pressure = _cumulative(gravity[::-1], -r[::-1])[::-1]  # int_r^R_OUT of rho g dr
    if r500c is None:
        r500c = _nfw_r500(m200c, r200c, c200c)
    alpha = np.minimum(model.alpha_0 * (1.0 + z) ** 0.5 * (r / r500c) ** 0.8, 0.6)
    p_th = model.heating * (1.0 - alpha) * pressure
    kt = MU * M_PROTON_G * 1e10 * np.divide(p_th, rho, out=np.zeros_like(rho), where=rho > 0) / KEV_ERG
    n_e = rho * MSUN_G / (MU_E * M_PROTON_G) / MPC_CM**3  # h^2 cm^-3: (Msun/h)/(Mpc/h)^3 = h^2 Msun/Mpc^3
    return HaloProfiles(r, rho, n_e, p_th, kt, m_gas)


def duffy08_concentration(m200c, z):
    """c200c of Duffy et al. (2008), full sample: 5.71 (M / 2e12 Msun/h)^-0.084 (1 + z)^-0.47 (M in Msun/h). The
    concentration of the pasted profiles: the suite's 0.2 Mpc/h force resolution does not resolve the inner profile
    of groups, whose measured c200c (:mod:`emulators.data.haloes`) is biased low and serves only to rank haloes."""
    return 5.71 * (np.asarray(m200c, dtype=float) / 2e12) ** -0.084 * (1.0 + z) ** -0.47


def nfw_m500c(m200c, c200c):
    """M500c of NFW haloes of mass M200c and concentration c200c (same units as M200c)."""
    x = np.array([_nfw_r500(1.0, 1.0, c) for c in np.atleast_1d(c200c)])
    return np.asarray(m200c, dtype=float) * 2.5 * x.reshape(np.shape(c200c)) ** 3


def _nfw_r500(m200, r200, c):
    """R500c of an NFW halo: where the mean enclosed density is 2.5 times that within R200c."""
    x = np.geomspace(0.05, 1.0, 2000)
    mean = _nfw_enclosed(x * r200, m200, r200, c) / (x**3 * m200)  # in units of the mean within R200c
    return float(np.interp(-2.5, -mean, x)) * r200


def halo_observables(prof: HaloProfiles, m500c: float, r500c: float) -> tuple[float, float]:
    """f_gas,500 = M_gas(< R500c) / M500c and the gas-mass-weighted kT within R500c (keV) of tabulated profiles
    (``r500c`` in the profiles' physical Mpc/h): the per-halo quantities of the issue's CAMELS responses."""
    m_gas = float(np.interp(r500c, prof.r, prof.m_gas))
    inside = prof.r <= r500c
    dm = np.diff(np.concatenate([[0.0], prof.m_gas]))[inside]
    return m_gas / m500c, float(np.sum(dm * prof.kt[inside]) / max(np.sum(dm), 1e-300))
