"""Mass-temperature and luminosity-temperature scaling relations with log-normal intrinsic scatter.

The analytical model of the paper (section 4.1, table 2: 2 cosmological + 6 nuisance parameters) links halo mass to
X-ray observables through two power laws with redshift evolution:

    M-T:  E(z) M500c = A_MT (T / 1 keV)^alpha_MT (1+z)^gamma_MT,              scatter sigma_lnM|T
    L-T:  L_bol(<R500) = A_LT E(z)^gamma_LT (T / 4 keV)^alpha_LT,              scatter sigma_lnL|T

The six nuisance parameters are (A_MT, alpha_MT, gamma_MT, A_LT, alpha_LT, gamma_LT); self-similar evolution is
gamma_MT = 0 (the E(z) factor carries it) and gamma_LT = 1. The scatters are fixed and configurable.

Defaults and their sources (converted to this package's h-units from the sources' h = 0.7 convention: weak-lensing
masses scale as h^-1, luminosities as h^-2):

- M-T: Lieu et al. (2016, A&A 592, A4), XXL+COSMOS+CCCP weak-lensing M500 and T within 300 kpc:
  E(z) M500 = 3.72e13 Msun (T/1 keV)^1.67 for h = 0.7, i.e. A_MT = 3.72e13 * 0.7 = 2.60e13 Msun/h, alpha_MT = 1.67,
  sigma_lnM|T = 0.41 (their XXL-only fit: 3.63e13, slope 1.78, scatter 0.53); gamma_MT = 0 (self-similar).
- L-T: Giles et al. (2022, MNRAS 516, 3878), XCS, bolometric luminosity within R500:
  E(z)^-1 L = 2.44e44 erg/s (T/4 keV)^3.07 for h = 0.7, i.e. A_LT = 2.44e44 * 0.7^2 = 1.20e44 erg/s h^-2,
  alpha_LT = 3.07, gamma_LT = 1 (self-similar). Giles et al. (2016, XXL) find a slope of 3.08 and E(z)^1.64.
  sigma_lnL|T = 0.47 is this package's default (XXL-like), not a value of Giles et al. (2022).

Units: M in Msun/h, T in keV, L in erg/s h^-2 (bolometric, rest frame). Float64 on the analytical path.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from xcosmo.checks import check_shape
from xcosmo.cosmology import Cosmology, efunc

__all__ = ["ScalingRelations", "NUISANCE_NAMES"]

NUISANCE_NAMES: tuple[str, ...] = ("a_mt", "alpha_mt", "gamma_mt", "a_lt", "alpha_lt", "gamma_lt")

_H_SOURCE = 0.7


class ScalingRelations(eqx.Module):
    """The six free scaling-relation parameters and the two fixed scatters (a pytree; differentiable).

    Attributes
    ----------
    a_mt : M-T normalisation E(z) M500c at T = 1 keV, in Msun/h.
    alpha_mt : M-T slope.
    gamma_mt : M-T evolution beyond self-similar, exponent of (1+z).
    a_lt : L-T normalisation of the bolometric luminosity at T = 4 keV and z = 0, in erg/s h^-2.
    alpha_lt : L-T slope.
    gamma_lt : L-T evolution, exponent of E(z) (self-similar: 1).
    sigma_lnm_t : intrinsic scatter of ln M at fixed T.
    sigma_lnl_t : intrinsic scatter of ln L at fixed T.
    """

    a_mt: ArrayLike = 3.72e13 * _H_SOURCE
    alpha_mt: ArrayLike = 1.67
    gamma_mt: ArrayLike = 0.0
    a_lt: ArrayLike = 2.44e44 * _H_SOURCE**2
    alpha_lt: ArrayLike = 3.07
    gamma_lt: ArrayLike = 1.0
    sigma_lnm_t: float = eqx.field(static=True, default=0.41)
    sigma_lnl_t: float = eqx.field(static=True, default=0.47)

    def to_array(self) -> jax.Array:
        """The six free parameters in the order of :data:`NUISANCE_NAMES`."""
        return jnp.stack([jnp.asarray(getattr(self, n), dtype=float) for n in NUISANCE_NAMES])

    @classmethod
    def from_array(cls, values: ArrayLike, **scatters) -> "ScalingRelations":
        """From the six free parameters in the order of :data:`NUISANCE_NAMES` (scatters as keywords)."""
        values = check_shape("nuisance", jnp.asarray(values), (len(NUISANCE_NAMES),), f" {NUISANCE_NAMES}")
        return cls(*(values[i] for i in range(len(NUISANCE_NAMES))), **scatters)

    def mean_ln_t(self, cosmo: Cosmology, m500c: ArrayLike, z: ArrayLike) -> jax.Array:
        """Mean ln(T / keV) at fixed mass, from inverting the M-T relation (T in keV, M in Msun/h)."""
        z = jnp.asarray(z)
        ln_em = jnp.log(jnp.asarray(m500c) * efunc(cosmo, z))
        return (ln_em - jnp.log(self.a_mt) - self.gamma_mt * jnp.log1p(z)) / self.alpha_mt

    @property
    def sigma_ln_t_m(self) -> jax.Array:
        """Scatter of ln T at fixed mass implied by sigma_lnM|T: sigma_lnM|T / alpha_MT."""
        return self.sigma_lnm_t / self.alpha_mt

    def mean_ln_l(self, cosmo: Cosmology, kt_kev: ArrayLike, z: ArrayLike) -> jax.Array:
        """Mean ln(L_bol / (erg/s h^-2)) at fixed temperature."""
        return (
            jnp.log(self.a_lt)
            + self.gamma_lt * jnp.log(efunc(cosmo, z))
            + self.alpha_lt * jnp.log(jnp.asarray(kt_kev) / 4.0)
        )
