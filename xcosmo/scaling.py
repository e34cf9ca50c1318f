"""Mass-temperature and luminosity-temperature scaling relations with log-normal intrinsic scatter, as named, cited
sets.

The analytical model of the paper (section 4.1, table 2: 2 cosmological + 6 nuisance parameters) links halo mass to
X-ray observables through two power laws with redshift evolution:

    M-T:  E(z) M500c = A_MT (T / 1 keV)^alpha_MT (1+z)^gamma_MT,              scatter sigma_lnM|T
    L-T:  L_band(<R500) = A_LT E(z)^gamma_LT (T / T_pivot)^alpha_LT,           scatter sigma_lnL|T

The six free parameters are (A_MT, alpha_MT, gamma_MT, A_LT, alpha_LT, gamma_LT) (:class:`ScalingRelations`, a
pytree); what does not vary in a fit (the scatters, the luminosity's band, the pivot, the domain of validity, the
prior widths) belongs to the :class:`RelationSet` the relations come from. L_band is the rest-frame luminosity in the
band its relation was measured in: bolometric, or [0.5-2] keV; the analytical model converts it to count rates with
the same spectrum in the same band (:func:`xcosmo.xray.countrates.emissivity`).

Sets (:data:`RELATION_SETS`; sources quote h = 0.7: weak-lensing masses scale as h^-1, luminosities as h^-2, and are
converted here to Msun/h and erg/s h^-2):

``"xxl"`` (default), the XXL relations on which Pacaud et al. (2018, A&A 620, A10, XXL XXV) build the C1 cosmology:

- M-T: Lieu et al. (2016, A&A 592, A4), weak-lensing M500 against T within 300 kpc, their fit to XXL + COSMOS +
  CCCP (96 clusters): E(z) M500 = 3.72e13 Msun (T / 1 keV)^1.67 for h = 0.7, sigma_lnM|T = 0.41 (slope and scatter
  from the abstract; the normalisation 10^13.57 from their table 2 as transcribed in XGA, DavidT3/XGA
  ``xga/relations/clusters/MT.py``); self-similar evolution, gamma_MT = 0. Pacaud et al. (2018)'s own table could not
  be consulted here: which of Lieu's fits it uses (the XXL-only one has slope 1.78 and scatter 0.53) is not verified.
- L-T: Giles et al. (2016, A&A 592, A3), bolometric L500 against T of the 100 brightest XXL clusters, corrected for
  selection: slope 3.08 +- 0.15 and evolution E(z)^(1.64 +- 0.77) (their abstract); normalisation 0.71e44 erg/s at
  T = 3 keV (h = 0.7) and sigma_lnL|T = 0.47: taken from their table 2 as recalled, not re-read here; the
  normalisation agrees with the issue's statement that XCS luminosities (Giles et al. 2022, 2.44e44 erg/s at 4 keV
  = 1.02e44 at 3 keV) are ~1.4 times XXL's at fixed T.
- Domain: the Lieu et al. (2016) XXL clusters span T ~ 1-5 keV (abstract), so the relations are used down to
  T = 1 keV: M500c = A_MT (1 keV)^alpha_MT = 2.6e13 Msun/h at z = 0 (:attr:`RelationSet.m_min`).

``"xcs"``, the relations this package used before: the same M-T, with the XCS bolometric L-T of Giles et al. (2022,
MNRAS 516, 3878): E(z)^-1 L = 2.44e44 erg/s (T / 4 keV)^3.07 (h = 0.7), gamma_LT = 1; sigma_lnL|T = 0.47 (not a
value of Giles et al. 2022, who do not give one that could be found here). Their temperatures span 1-12 keV: the
same 1 keV domain.

``"xcs-soft"``, the same XCS clusters in the [0.5-2] keV band (Giles et al. 2022): E(z)^-1 L[0.5-2] = 0.776e44 erg/s
(T / 4 keV)^2.63: a check on the band conversion (it must predict nearly the counts of ``"xcs"``).

Units: M in Msun/h, T in keV, L in erg/s h^-2 (rest frame, in the set's band). Float64 on the analytical path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from xcosmo.checks import check_choice, check_shape
from xcosmo.cosmology import Cosmology, efunc

__all__ = ["ScalingRelations", "RelationSet", "RELATION_SETS", "DEFAULT_RELATIONS", "relation_set", "NUISANCE_NAMES",
           "BANDS"]  # fmt: skip

NUISANCE_NAMES: tuple[str, ...] = ("a_mt", "alpha_mt", "gamma_mt", "a_lt", "alpha_lt", "gamma_lt")
BANDS: dict[str, tuple[float, float] | None] = {"bol": None, "0.5-2": (0.5, 2.0)}
"""Luminosity bands a relation may use: bolometric, or rest-frame [0.5-2] keV."""

_H = 0.7  # the sources' Hubble parameter


@dataclass(frozen=True)
class RelationSet:
    """A named, cited set of M-T and L-T relations: fiducial values of the six free parameters (package units), and
    what stays fixed in a fit.

    Attributes
    ----------
    name : the set's name in :data:`RELATION_SETS`.
    values : fiducial (A_MT [Msun/h], alpha_MT, gamma_MT, A_LT [erg/s h^-2], alpha_LT, gamma_LT).
    sigma_lnm_t, sigma_lnl_t : intrinsic scatters of ln M at fixed T and of ln L at fixed T.
    band : ``"bol"`` or ``"0.5-2"`` (rest frame): the band of the L-T relation's luminosity.
    t_pivot_kev : temperature at which A_LT is the luminosity, keV.
    t_min_kev : lowest temperature the relations were calibrated at, keV (the domain of validity).
    prior_sigma : Gaussian prior widths of the six free parameters (ln A for the normalisations), about twice the
        published 1-sigma uncertainties; used by :mod:`inference.likelihood`.
    reference : where the values come from (the module docstring details each).
    """

    name: str
    values: tuple[float, float, float, float, float, float]
    sigma_lnm_t: float
    sigma_lnl_t: float
    band: str
    t_pivot_kev: float
    t_min_kev: float
    prior_sigma: tuple[float, float, float, float, float, float]
    reference: str

    def __post_init__(self):
        check_choice("band", self.band, tuple(BANDS))

    @property
    def m_min(self) -> float:
        """M500c (Msun/h) of a T = t_min_kev cluster at z = 0 by the M-T relation: below it the analytical model does
        not integrate unless asked to extrapolate."""
        a_mt, alpha_mt = self.values[0], self.values[1]
        return a_mt * self.t_min_kev**alpha_mt

    def fiducial(self) -> "ScalingRelations":
        """The set's fiducial relations as a :class:`ScalingRelations` pytree."""
        return ScalingRelations(*self.values, spec=self)


_LIEU16_MT = (3.72e13 * _H, 1.67, 0.0)
_MT_PRIOR = (0.13, 0.12, 0.5)  # Lieu+16: A_MT to ~13%, slope +- 0.12; gamma_MT unmeasured: broad around 0

RELATION_SETS: dict[str, RelationSet] = {
    "xxl": RelationSet(
        name="xxl",
        values=_LIEU16_MT + (0.71e44 * _H**2, 3.08, 1.64),
        sigma_lnm_t=0.41,
        sigma_lnl_t=0.47,
        band="bol",
        t_pivot_kev=3.0,
        t_min_kev=1.0,
        prior_sigma=_MT_PRIOR + (0.15, 0.15, 0.77),  # Giles+16: slope +- 0.15, E(z)^(1.64 +- 0.77)
        reference="Pacaud et al. 2018 (XXL XXV): M-T of Lieu et al. 2016, bolometric L-T of Giles et al. 2016",
    ),
    "xcs": RelationSet(
        name="xcs",
        values=_LIEU16_MT + (2.44e44 * _H**2, 3.07, 1.0),
        sigma_lnm_t=0.41,
        sigma_lnl_t=0.47,
        band="bol",
        t_pivot_kev=4.0,
        t_min_kev=1.0,
        prior_sigma=_MT_PRIOR + (0.15, 0.15, 0.77),
        reference="M-T of Lieu et al. 2016, bolometric XCS L-T of Giles et al. 2022",
    ),
    "xcs-soft": RelationSet(
        name="xcs-soft",
        values=_LIEU16_MT + (0.776e44 * _H**2, 2.63, 1.0),
        sigma_lnm_t=0.41,
        sigma_lnl_t=0.47,
        band="0.5-2",
        t_pivot_kev=4.0,
        t_min_kev=1.0,
        prior_sigma=_MT_PRIOR + (0.15, 0.15, 0.77),
        reference="M-T of Lieu et al. 2016, [0.5-2] keV XCS L-T of Giles et al. 2022",
    ),
}
"""The named relation sets (module docstring: values and sources)."""
DEFAULT_RELATIONS = "xxl"


def relation_set(relations: str | RelationSet = DEFAULT_RELATIONS) -> RelationSet:
    """A :class:`RelationSet` by name (``ValueError`` naming the allowed ones), or the set itself."""
    if isinstance(relations, RelationSet):
        return relations
    return RELATION_SETS[check_choice("relations", relations, tuple(RELATION_SETS))]


class ScalingRelations(eqx.Module):
    """The six free scaling-relation parameters (a pytree; differentiable) of a :class:`RelationSet`.

    Attributes
    ----------
    a_mt : M-T normalisation E(z) M500c at T = 1 keV, in Msun/h.
    alpha_mt : M-T slope.
    gamma_mt : M-T evolution beyond self-similar, exponent of (1+z).
    a_lt : L-T normalisation: the luminosity in the set's band at T = t_pivot_kev and z = 0, in erg/s h^-2.
    alpha_lt : L-T slope.
    gamma_lt : L-T evolution, exponent of E(z) (self-similar: 1).
    spec : the set (scatters, band, pivot, domain); default the ``"xxl"`` set. The defaults of the six values are
        that set's.
    """

    a_mt: ArrayLike = RELATION_SETS[DEFAULT_RELATIONS].values[0]
    alpha_mt: ArrayLike = RELATION_SETS[DEFAULT_RELATIONS].values[1]
    gamma_mt: ArrayLike = RELATION_SETS[DEFAULT_RELATIONS].values[2]
    a_lt: ArrayLike = RELATION_SETS[DEFAULT_RELATIONS].values[3]
    alpha_lt: ArrayLike = RELATION_SETS[DEFAULT_RELATIONS].values[4]
    gamma_lt: ArrayLike = RELATION_SETS[DEFAULT_RELATIONS].values[5]
    spec: RelationSet = eqx.field(static=True, default=RELATION_SETS[DEFAULT_RELATIONS])

    @property
    def sigma_lnm_t(self) -> float:
        return self.spec.sigma_lnm_t

    @property
    def sigma_lnl_t(self) -> float:
        return self.spec.sigma_lnl_t

    def to_array(self) -> jax.Array:
        """The six free parameters in the order of :data:`NUISANCE_NAMES`."""
        return jnp.stack([jnp.asarray(getattr(self, n), dtype=float) for n in NUISANCE_NAMES])

    @classmethod
    def from_array(cls, values: ArrayLike, spec: RelationSet = RELATION_SETS[DEFAULT_RELATIONS]) -> "ScalingRelations":
        """From the six free parameters in the order of :data:`NUISANCE_NAMES`, in the set ``spec``."""
        values = check_shape("nuisance", jnp.asarray(values), (len(NUISANCE_NAMES),), f" {NUISANCE_NAMES}")
        return cls(*(values[i] for i in range(len(NUISANCE_NAMES))), spec=spec)

    def mean_ln_t(self, cosmo: Cosmology, m500c: ArrayLike, z: ArrayLike) -> jax.Array:
        """Mean ln(T / keV) at fixed mass, from inverting the M-T relation (T in keV, M in Msun/h)."""
        z = jnp.asarray(z)
        ln_em = jnp.log(jnp.asarray(m500c) * efunc(cosmo, z))
        return (ln_em - jnp.log(self.a_mt) - self.gamma_mt * jnp.log1p(z)) / self.alpha_mt

    @property
    def sigma_ln_t_m(self) -> jax.Array:
        """Scatter of ln T at fixed mass implied by sigma_lnM|T: sigma_lnM|T / alpha_MT."""
        return self.spec.sigma_lnm_t / self.alpha_mt

    def mean_ln_l(self, cosmo: Cosmology, kt_kev: ArrayLike, z: ArrayLike) -> jax.Array:
        """Mean ln(L / (erg/s h^-2)) at fixed temperature, L in the set's band (rest frame)."""
        return (
            jnp.log(self.a_lt)
            + self.gamma_lt * jnp.log(efunc(cosmo, z))
            + self.alpha_lt * (jnp.log(jnp.asarray(kt_kev)) - math.log(self.spec.t_pivot_kev))
        )
