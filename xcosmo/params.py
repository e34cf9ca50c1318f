"""The six simulation parameters and their prior (paper, table 1).

``theta_sim = (Omega_m, sigma_8, A_SN1, A_SN2, A_AGN1, A_AGN2)`` everywhere in xcosmo, in this order. The prior is the
CAMELS Latin-hypercube range: uniform in Omega_m and sigma_8, log-uniform in the four feedback amplitudes.

CAMELS parameter files order the columns ``Omega_m, sigma_8, A_SN1, A_AGN1, A_SN2, A_AGN2``; the CAMELS reader converts,
nothing else does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Iterator

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from xcosmo.checks import as_numeric, check_integer, check_shape, in_range, is_traced

__all__ = ["PARAM_NAMES", "Params", "Prior", "PRIOR", "Bound", "unit_latin_hypercube"]

PARAM_NAMES: tuple[str, ...] = ("omega_m", "sigma_8", "a_sn1", "a_sn2", "a_agn1", "a_agn2")


def _in_prior(name: str):
    """Field converter: the value, checked against its prior range (traced values at run time)."""

    def convert(value):
        bound = PRIOR.bound(name)
        return in_range(name, value, bound.low, bound.high, allowed=f"allowed range {bound.describe()}")

    return convert


class Params(eqx.Module):
    """Cosmological and feedback parameters, a JAX pytree (each field a scalar or an array of equal shape).

    Attributes
    ----------
    omega_m : total matter density parameter today, dimensionless.
    sigma_8 : rms linear density fluctuation in 8 Mpc/h spheres today, dimensionless.
    a_sn1, a_sn2 : supernova feedback amplitudes (energy per SFR, wind speed), dimensionless (CAMELS).
    a_agn1, a_agn2 : AGN feedback amplitudes (kinetic-mode energy, burstiness), dimensionless (CAMELS).

    Values are checked against :data:`PRIOR` when the object is built (:mod:`xcosmo.checks`): NaN, non-finite values
    or values outside the prior raise a ``ValueError`` naming the parameter, its value and the allowed range; values
    carried by JAX tracers raise when the traced computation runs.
    """

    omega_m: ArrayLike = eqx.field(converter=_in_prior("omega_m"))
    sigma_8: ArrayLike = eqx.field(converter=_in_prior("sigma_8"))
    a_sn1: ArrayLike = eqx.field(default=1.0, converter=_in_prior("a_sn1"))
    a_sn2: ArrayLike = eqx.field(default=1.0, converter=_in_prior("a_sn2"))
    a_agn1: ArrayLike = eqx.field(default=1.0, converter=_in_prior("a_agn1"))
    a_agn2: ArrayLike = eqx.field(default=1.0, converter=_in_prior("a_agn2"))

    names: ClassVar[tuple[str, ...]] = PARAM_NAMES

    def __check_init__(self):
        shapes = {n: np.shape(v) for n, v in zip(PARAM_NAMES, self.values())}
        try:
            np.broadcast_shapes(*shapes.values())
        except ValueError:
            raise ValueError(f"Params fields must be scalars or arrays of one shape, got shapes {shapes}") from None

    @classmethod
    def fiducial(cls) -> "Params":
        """The fiducial CAMELS model: (0.3, 0.8, 1, 1, 1, 1)."""
        return cls(0.3, 0.8, 1.0, 1.0, 1.0, 1.0)

    def to_array(self) -> jax.Array:
        """Stack the fields along a new last axis, in the order of :data:`PARAM_NAMES`: shape ``(..., 6)``."""
        return jnp.stack(jnp.broadcast_arrays(*(jnp.asarray(v) for v in self.values())), axis=-1)

    @classmethod
    def from_array(cls, theta: ArrayLike) -> "Params":
        """Build from an array whose last axis holds the six parameters in the order of :data:`PARAM_NAMES`."""
        if not is_traced(theta):
            theta = as_numeric("theta", theta)
            shape = np.shape(theta)
            if len(shape) == 0 or shape[-1] != len(PARAM_NAMES) or np.size(theta) == 0:
                raise ValueError(
                    f"theta has shape {shape}, which is not allowed: expected a non-empty array whose last axis has "
                    f"{len(PARAM_NAMES)} entries {PARAM_NAMES}"
                )
        theta = jnp.asarray(theta)
        return cls(*(theta[..., i] for i in range(len(PARAM_NAMES))))

    def values(self) -> Iterator[ArrayLike]:
        return (getattr(self, n) for n in PARAM_NAMES)

    def as_dict(self) -> dict[str, float]:
        """Plain-Python ``{name: value}`` (scalars only), for metadata and FITS/HDF5 headers."""
        return {n: float(v) for n, v in zip(PARAM_NAMES, self.values())}


def unit_latin_hypercube(key: jax.Array, n: int, d: int) -> jax.Array:
    """``n`` points of a Latin hypercube of the unit cube in ``d`` dimensions, shape ``(n, d)``: each dimension cut
    into ``n`` equal strata, each stratum holding one point placed uniformly within it, strata paired across
    dimensions by independent random permutations (McKay et al. 1979)."""
    check_integer("n", n, 1)
    check_integer("d", d, 1)
    k_perm, k_jit = jax.random.split(key)
    perms = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(k_perm, d)).T
    return (perms + jax.random.uniform(k_jit, (n, d))) / n


@dataclass(frozen=True)
class Bound:
    """Prior range of one parameter: uniform in the value, or in its natural log when ``log`` is set."""

    name: str
    low: float
    high: float
    log: bool = False

    def describe(self) -> str:
        if self.log:
            return f"[{self.low:g}, {self.high:g}] (log-uniform: ln {self.name} in U(ln {self.low:g}, ln {self.high:g}))"
        return f"[{self.low:g}, {self.high:g}] (uniform)"


@dataclass(frozen=True)
class Prior:
    """Box prior over the six parameters, uniform or log-uniform per parameter (paper, table 1)."""

    bounds: tuple[Bound, ...]

    def __post_init__(self):
        if tuple(b.name for b in self.bounds) != PARAM_NAMES:
            raise ValueError(f"bounds must be given for {PARAM_NAMES} in that order")

    @property
    def low(self) -> np.ndarray:
        return np.array([b.low for b in self.bounds])

    @property
    def high(self) -> np.ndarray:
        return np.array([b.high for b in self.bounds])

    def bound(self, name: str) -> Bound:
        """The range of parameter ``name``."""
        return self.bounds[PARAM_NAMES.index(name)]

    # --- unit-cube transform (used by designs and by numpyro reparametrisations) ---------------------------------
    def from_unit(self, u: ArrayLike) -> jax.Array:
        """Map points of the unit hypercube ``u[..., 6]`` to parameter values (log-uniform where the prior is)."""
        u = jnp.asarray(u)
        lo, hi = jnp.asarray(self.low), jnp.asarray(self.high)
        logs = jnp.asarray([b.log for b in self.bounds])
        lin = lo + u * (hi - lo)
        log = jnp.exp(jnp.log(lo) + u * (jnp.log(hi) - jnp.log(lo)))
        return jnp.where(logs, log, lin)

    def to_unit(self, theta: ArrayLike) -> jax.Array:
        """Inverse of :meth:`from_unit`."""
        theta = jnp.asarray(theta)
        lo, hi = jnp.asarray(self.low), jnp.asarray(self.high)
        logs = jnp.asarray([b.log for b in self.bounds])
        lin = (theta - lo) / (hi - lo)
        log = (jnp.log(theta) - jnp.log(lo)) / (jnp.log(hi) - jnp.log(lo))
        return jnp.where(logs, log, lin)

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` independent draws from the prior, shape ``(n, 6)``."""
        check_integer("n", n, 0)
        return self.from_unit(jax.random.uniform(key, (n, len(self.bounds))))

    def latin_hypercube(self, key: jax.Array, n: int) -> jax.Array:
        """A Latin-hypercube design of ``n`` points, shape ``(n, 6)``: :func:`unit_latin_hypercube` mapped by
        :meth:`from_unit`, so that the strata hold equal prior mass (log-spaced for the feedback amplitudes)."""
        return self.from_unit(unit_latin_hypercube(key, n, len(self.bounds)))

    def log_prob(self, theta: ArrayLike) -> jax.Array:
        """Log prior density of ``theta[..., 6]`` in the parameters themselves (``-inf`` outside the box)."""
        if not is_traced(theta):
            theta = as_numeric("theta", theta)
            check_shape("theta", theta, (None,) * (np.ndim(theta) - 1) + (len(PARAM_NAMES),),
                        f" with a last axis of the {len(PARAM_NAMES)} parameters {PARAM_NAMES}")  # fmt: skip
        theta = jnp.asarray(theta)
        lo, hi = jnp.asarray(self.low), jnp.asarray(self.high)
        logs = jnp.asarray([b.log for b in self.bounds])
        dens = jnp.where(logs, -jnp.log(theta) - jnp.log(jnp.log(hi / lo)), -jnp.log(hi - lo))
        inside = jnp.all((theta >= lo) & (theta <= hi), axis=-1)
        return jnp.where(inside, jnp.sum(dens, axis=-1), -jnp.inf)

    def sample_numpyro(self) -> Params:
        """Draw :class:`Params` inside a numpyro model.

        Uniform parameters are sampled under their own names; log-uniform ones as ``ln_<name>`` with a
        ``numpyro.deterministic`` site for the amplitude itself, so that NUTS works in the flat coordinates.
        """
        import numpyro
        import numpyro.distributions as dist

        values = []
        for b in self.bounds:
            if b.log:
                ln = numpyro.sample(f"ln_{b.name}", dist.Uniform(math.log(b.low), math.log(b.high)))
                values.append(numpyro.deterministic(b.name, jnp.exp(ln)))
            else:
                values.append(numpyro.sample(b.name, dist.Uniform(b.low, b.high)))
        return Params(*values)


PRIOR = Prior(
    bounds=(
        Bound("omega_m", 0.1, 0.5),
        Bound("sigma_8", 0.6, 1.0),
        Bound("a_sn1", 0.25, 4.0, log=True),
        Bound("a_sn2", 0.5, 2.0, log=True),
        Bound("a_agn1", 0.25, 4.0, log=True),
        Bound("a_agn2", 0.5, 2.0, log=True),
    )
)
"""The prior of the paper's table 1 (CAMELS IllustrisTNG LH ranges)."""
