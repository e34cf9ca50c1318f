"""Physical constants and fixed conventions, once, from ``astropy.constants`` and ``astropy.units``.

Values are plain floats (usable in numpy and JAX, float32 or float64). Units follow the package's conventions:
masses Msun/h, comoving lengths Mpc/h, energies and temperatures keV, areas deg^2.
"""

from __future__ import annotations

import math

import astropy.constants as _const
import astropy.units as _u

__all__ = [
    "C_KM_S",
    "MPC_CM",
    "KEV_ERG",
    "RHO_CRIT_0",
    "RHO_CRIT_0_G_CM3",
    "M_PROTON_G",
    "MSUN_G",
    "K_B_KEV_PER_K",
    "HYDROGEN_MASS_FRACTION",
    "FULL_SKY_DEG2",
    "M_MAX",
    "DETECTION_OVERDENSITY",
    "METALLICITY",
    "KT_RANGE_KEV",
]

C_KM_S: float = _const.c.to_value(_u.km / _u.s)
"""Speed of light, km/s."""

MPC_CM: float = _u.Mpc.to(_u.cm)
"""One megaparsec in cm."""

KEV_ERG: float = _u.keV.to(_u.erg)
"""One keV in erg."""

RHO_CRIT_0: float = (3.0 * (100.0 * _u.km / _u.s / _u.Mpc) ** 2 / (8.0 * math.pi * _const.G)).to_value(
    _u.Msun / _u.Mpc**3
)
"""Critical density today, h^2 Msun / Mpc^3: 3 H0^2 / (8 pi G) with H0 = 100 h km/s/Mpc (2.775e11)."""

RHO_CRIT_0_G_CM3: float = (RHO_CRIT_0 * _u.Msun / _u.Mpc**3).to_value(_u.g / _u.cm**3)
"""Critical density today divided by h^2, g/cm^3 (1.878e-29)."""

M_PROTON_G: float = _const.m_p.to_value(_u.g)
"""Proton mass, g."""

MSUN_G: float = _const.M_sun.to_value(_u.g)
"""Solar mass, g."""

K_B_KEV_PER_K: float = (_const.k_B * _u.K).to_value(_u.keV)
"""Boltzmann constant, keV per kelvin."""

HYDROGEN_MASS_FRACTION: float = 0.76
"""X_H of primordial gas, as IllustrisTNG and the CAMELS library use it."""

FULL_SKY_DEG2: float = 4.0 * math.pi * (180.0 / math.pi) ** 2
"""Solid angle of the full sky, deg^2 (41252.96)."""

M_MAX: float = 1e16
"""Upper mass limit of every halo-mass integral, Msun/h: above it the abundance is negligible (< 1e-12 of the total)."""

DETECTION_OVERDENSITY: float = 200.0
"""Threshold of the dark-matter detections, rho_DM / rho_crit(z) (paper 4.2: an M200c-like definition)."""

METALLICITY: float = 0.3
"""Metallicity of the intracluster plasma, solar units (paper 2.3)."""

KT_RANGE_KEV: tuple[float, float] = (0.1, 20.0)
"""Temperature range of the emission and count-rate tables, keV."""
