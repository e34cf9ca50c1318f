"""The scaling-relation emulator (paper 5.3, figure 13): the CR-M and HR-M relations of the eLDL simulation model
(:data:`~emulators.scaling.relations.RELATION_NAMES`) as functions of (theta_sim, z), with their uncertainty.

Each quantity y is a Gaussian process over the design coordinates u in the unit cube (:meth:`ScalingSimulator.
to_unit <emulators.scaling.simulator.ScalingSimulator.to_unit>`: the prior's transform of theta_sim, z uniform in
0.1-0.5), fitted to the values y_j measured at the design points u_j with their bootstrap errors e_j
(Rasmussen & Williams 2006, ch. 2 and 5):

    y(u) ~ GP(m, k),   k(u, u') = a^2 exp(-sum_d (u_d - u'_d)^2 / (2 l_d^2)),   y_j = y(u_j) + eps_j,
    eps_j ~ N(0, e_j^2 + s^2),

with a constant mean m, an amplitude a, one length l_d per coordinate (automatic relevance determination) and a
nugget s (scatter between volumes that the bootstrap of one volume's clusters does not see), which maximise the
log marginal likelihood (R&W eq. 2.30; Adam on their logarithms, y standardised). :meth:`RelationGP.predict` gives
the conditional mean and standard deviation of the relation itself, y(u) without the measurement noise (R&W eq.
2.25-2.26): the emulator's uncertainty. Built on tinygp (Foreman-Mackey et al.).

Queries outside the unit cube (parameters outside the prior of the paper's table 1, or z outside 0.1-0.5) are
refused: a GP there returns its mean with a growing width, which is no measurement.
"""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from emulators.scaling.relations import RELATION_NAMES
from xcosmo.checks import check_integer, check_shape, fail
from xcosmo.precision import float64
from xcosmo.weights import load_weights, read_weights_meta, save_weights

__all__ = ["RelationGP", "ConditionedGP", "ScalingRelationEmulator", "fit_relation_gp", "fit_emulator",
           "save_emulator", "load_emulator", "DOMAIN_TOLERANCE", "FORMAT_VERSION", "PRETRAINED"]

FORMAT_VERSION = 1
"""Version of the emulator files' layout (:mod:`xcosmo.weights`); files of another version are refused."""

PRETRAINED = Path(__file__).parent / "pretrained" / "scaling.eqx"
"""The shipped emulator (its metadata beside it, ``scaling.json``: the design, the volumes, the painter's weights,
the leave-out validation)."""

_WHAT = "scaling-relation emulator"

DOMAIN_TOLERANCE = 1e-6
"""How far outside the unit cube (in its units) a query may lie before it is refused (rounding of the transforms)."""


class RelationGP(eqx.Module):
    """One relation quantity as a Gaussian process (module docstring); ``y`` and ``var`` are standardised by
    ``(y - offset) / unit``."""

    u: jax.Array  # (n, d) design points in the unit cube
    y: jax.Array  # (n,) standardised measured values
    var: jax.Array  # (n,) their measurement variances, standardised
    mean: jax.Array  # m
    log_amp: jax.Array  # ln a
    log_lengths: jax.Array  # (d,) ln l_d
    log_nugget: jax.Array  # ln s
    offset: jax.Array
    unit: jax.Array

    def _gp(self):
        from tinygp import GaussianProcess, kernels, transforms

        # one length per coordinate: the unit kernel on u / l
        kernel = jnp.exp(2 * self.log_amp) * transforms.Linear(jnp.exp(-self.log_lengths), kernels.ExpSquared())
        return GaussianProcess(kernel, self.u, diag=self.var + jnp.exp(2 * self.log_nugget), mean=self.mean)

    def log_marginal_likelihood(self) -> jax.Array:
        """ln p(y | hyperparameters) of the standardised data (R&W eq. 2.30)."""
        return self._gp().log_probability(self.y)

    def predict(self, u: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Mean and standard deviation of y at the points ``u`` (m, d), in the quantity's own units."""
        cond = self._gp().condition(self.y, jnp.atleast_2d(u)).gp
        return self.offset + self.unit * cond.loc, self.unit * jnp.sqrt(jnp.maximum(cond.variance, 0.0))

    @property
    def nugget(self) -> jax.Array:
        """s in the quantity's own units."""
        return self.unit * jnp.exp(self.log_nugget)

    def conditioned(self) -> "ConditionedGP":
        """The same predictions with the training covariance factorised once (:class:`ConditionedGP`)."""
        inv_lengths = jnp.exp(-self.log_lengths)
        amp2 = jnp.exp(2 * self.log_amp)
        k = _kernel(self.u * inv_lengths, self.u * inv_lengths, amp2)
        chol = jnp.linalg.cholesky(k + jnp.diag(self.var + jnp.exp(2 * self.log_nugget)))
        alpha = jax.scipy.linalg.cho_solve((chol, True), self.y - self.mean)
        return ConditionedGP(self.u * inv_lengths, inv_lengths, amp2, alpha, chol, self.mean, self.offset, self.unit)


def _kernel(a: jax.Array, b: jax.Array, amp2: jax.Array) -> jax.Array:
    """a^2 exp(-|a_i - b_j|^2 / 2) of points already divided by the lengths: (m, n)."""
    d2 = jnp.sum(a**2, 1)[:, None] + jnp.sum(b**2, 1)[None, :] - 2.0 * a @ b.T
    return amp2 * jnp.exp(-0.5 * jnp.maximum(d2, 0.0))


class ConditionedGP(eqx.Module):
    """A :class:`RelationGP` conditioned on its data once (R&W algorithm 2.1): with L the Cholesky factor of
    K + diag(e^2 + s^2) and alpha = L^T \\ (L \\ (y - m)), a query at u costs k(u, X) alpha for the mean and one
    triangular solve v = L \\ k(X, u) for the variance a^2 - |v|^2, where :meth:`RelationGP.predict` factorises K
    at every call (a hundred points: most of a likelihood evaluation's time)."""

    scaled_u: jax.Array  # (n, d) design points divided by the lengths
    inv_lengths: jax.Array
    amp2: jax.Array
    alpha: jax.Array
    chol: jax.Array
    mean: jax.Array
    offset: jax.Array
    unit: jax.Array

    def predict(self, u: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Mean and standard deviation of y at the points ``u`` (m, d), in the quantity's own units."""
        k = _kernel(jnp.atleast_2d(u) * self.inv_lengths, self.scaled_u, self.amp2)  # (m, n)
        v = jax.scipy.linalg.solve_triangular(self.chol, k.T, lower=True)
        var = self.amp2 - jnp.sum(v**2, axis=0)
        return self.offset + self.unit * (self.mean + k @ self.alpha), self.unit * jnp.sqrt(jnp.maximum(var, 0.0))


def _free(gp: RelationGP):
    return gp.mean, gp.log_amp, gp.log_lengths, gp.log_nugget


@eqx.filter_jit
def _optimise(gp: RelationGP, steps: int, learning_rate: float) -> RelationGP:
    """Adam on the hyperparameters for ``steps`` steps (one compilation per data shape)."""
    import optax

    optimiser = optax.adam(learning_rate)

    def loss(params):
        g = eqx.tree_at(_free, gp, params)
        # a weak log-normal prior on the lengths keeps one from running off to zero or infinity where the marginal
        # likelihood is flat along it (R&W 5.4.1)
        return -g.log_marginal_likelihood() + 0.5 * jnp.sum((g.log_lengths / 3.0) ** 2)

    def step(carry, _):
        params, state = carry
        grads = jax.grad(loss)(params)
        updates, state = optimiser.update(grads, state)
        return (optax.apply_updates(params, updates), state), None

    params = _free(gp)
    (params, _), _ = jax.lax.scan(step, (params, optimiser.init(params)), None, length=steps)
    return eqx.tree_at(_free, gp, params)


@float64
def fit_relation_gp(u: np.ndarray, y: np.ndarray, err: np.ndarray, *, steps: int = 1500, learning_rate: float = 0.03,
                    ) -> RelationGP:  # fmt: skip
    """The :class:`RelationGP` of values ``y`` (n,) with errors ``err`` (n,) measured at ``u`` (n, d), its
    hyperparameters at the maximum of the marginal likelihood (Adam for ``steps`` steps from lengths 0.5, the
    amplitude of the data and a nugget of a tenth of it)."""
    u = jnp.asarray(u, jnp.float64)
    offset, unit = float(np.mean(y)), float(np.std(y)) or 1.0
    gp = RelationGP(u, jnp.asarray((y - offset) / unit), jnp.asarray((np.asarray(err) / unit) ** 2), jnp.asarray(0.0),
                    jnp.asarray(0.0), jnp.full(u.shape[1], np.log(0.5)), jnp.asarray(np.log(0.1)), jnp.asarray(offset),
                    jnp.asarray(unit))  # fmt: skip
    return _optimise(gp, check_integer("steps", steps, 1), float(learning_rate))


class ScalingRelationEmulator(eqx.Module):
    """The seven relation quantities of :data:`RELATION_NAMES`, one :class:`RelationGP` each, over (theta_sim, z).

    Call :meth:`predict` with the six parameters and a redshift, or :meth:`predict_unit` with design coordinates
    (traceable, for the emulated-relation model); :meth:`pretrained` loads the shipped one."""

    gps: tuple[RelationGP | ConditionedGP, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return RELATION_NAMES

    def conditioned(self) -> "ScalingRelationEmulator":
        """The same emulator with every GP conditioned once (:class:`ConditionedGP`): for repeated queries such as a
        likelihood's (it cannot be saved; save the emulator itself)."""
        return ScalingRelationEmulator(tuple(gp if isinstance(gp, ConditionedGP) else gp.conditioned()
                                             for gp in self.gps))  # fmt: skip

    def predict_unit(self, u: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Means and standard deviations (m, 7) at design coordinates ``u`` (m, 7); refused outside the unit cube
        (:data:`DOMAIN_TOLERANCE`), also under ``jit``."""
        u = jnp.atleast_2d(jnp.asarray(u))
        outside = jnp.any((u < -DOMAIN_TOLERANCE) | (u > 1 + DOMAIN_TOLERANCE))
        u = eqx.error_if(u, outside, "scaling-relation emulator queried outside its training domain (the prior of "
                                     "the paper's table 1 and 0.1 <= z <= 0.5)")  # fmt: skip
        means, stds = zip(*(gp.predict(u) for gp in self.gps))
        return jnp.stack(means, axis=-1), jnp.stack(stds, axis=-1)

    def relations(self, theta: jax.Array, z: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Means and standard deviations (k, 7) of the relation quantities at the six parameters ``theta`` (6,) and
        the redshifts ``z`` (k,): :meth:`predict_unit` in the parameters themselves, traceable (the interface of
        :class:`xcosmo.emulated.EmulatedRelationModel`)."""
        from emulators.scaling.simulator import Z_RANGE
        from xcosmo.params import PRIOR

        z = jnp.ravel(jnp.asarray(z))
        u_theta = jnp.broadcast_to(PRIOR.to_unit(jnp.asarray(theta)), (z.size, 6))
        return self.predict_unit(jnp.concatenate([u_theta, ((z - Z_RANGE[0]) / (Z_RANGE[1] - Z_RANGE[0]))[:, None]], 1))

    @classmethod
    def pretrained(cls) -> "ScalingRelationEmulator":
        """The shipped emulator (:data:`PRETRAINED`; its metadata: ``load_emulator(PRETRAINED)[1]``)."""
        return load_emulator(PRETRAINED)[0]

    @float64
    def predict(self, theta, z) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{name: (mean, std)}`` of every relation quantity at parameters ``theta`` (..., 6) (or a
        :class:`~xcosmo.params.Params`) and redshifts ``z`` (broadcast against theta's leading axes); units of
        :func:`~emulators.scaling.relations.fit_relations`. Refuses, naming the parameter, a point outside the
        training domain."""
        from emulators.scaling.simulator import Z_RANGE
        from xcosmo.params import PARAM_NAMES, PRIOR, Params

        theta = theta.to_array() if isinstance(theta, Params) else theta
        theta = np.asarray(theta, np.float64)
        check_shape("theta", theta, (None,) * (theta.ndim - 1) + (6,), f" with a last axis of the six {PARAM_NAMES}")
        z = np.broadcast_to(np.asarray(z, np.float64), theta.shape[:-1])
        for i, name in enumerate(PARAM_NAMES):
            b = PRIOR.bounds[i]
            if np.any((theta[..., i] < b.low) | (theta[..., i] > b.high)):
                fail(name, theta[..., i], f"inside the emulator's training domain {b.describe()}")
        if np.any((z < Z_RANGE[0]) | (z > Z_RANGE[1])):
            fail("z", z, f"inside the emulator's training domain {Z_RANGE[0]:g} <= z <= {Z_RANGE[1]:g}")
        u = np.concatenate([np.asarray(PRIOR.to_unit(theta)), ((z - Z_RANGE[0]) / (Z_RANGE[1] - Z_RANGE[0]))[..., None]], -1)
        mean, std = _predict_unit(self, jnp.asarray(u.reshape(-1, 7)))
        shape = theta.shape[:-1]
        return {n: (np.asarray(mean[:, j]).reshape(shape), np.asarray(std[:, j]).reshape(shape))
                for j, n in enumerate(RELATION_NAMES)}  # fmt: skip


@eqx.filter_jit
def _predict_unit(emulator: ScalingRelationEmulator, u: jax.Array) -> tuple[jax.Array, jax.Array]:
    """:meth:`ScalingRelationEmulator.predict_unit` compiled once per number of points: a query is then a few
    matrix-vector products rather than hundreds of dispatched operations."""
    return emulator.predict_unit(u)


def fit_emulator(u: np.ndarray, values: np.ndarray, errors: np.ndarray, **settings) -> ScalingRelationEmulator:
    """The emulator of the relations ``values`` (n, 7) with bootstrap ``errors`` (n, 7) measured at design
    coordinates ``u`` (n, 7) (:func:`fit_relation_gp` for each, with ``settings``)."""
    u = check_shape("u", np.asarray(u, np.float64), (None, 7), " (design points in the unit cube of (theta, z))")
    values = check_shape("values", np.asarray(values, np.float64), (u.shape[0], len(RELATION_NAMES)))
    errors = check_shape("errors", np.asarray(errors, np.float64), values.shape)
    if u.shape[0] < 3:
        fail("u", f"{u.shape[0]} design points", "at least 3")
    for name, arr in (("values", values), ("errors", errors)):
        if not np.all(np.isfinite(arr)):
            fail(name, "non-finite entries", "finite relation values and errors at every design point")
    return ScalingRelationEmulator(tuple(fit_relation_gp(u, values[:, j], errors[:, j], **settings)
                                         for j in range(len(RELATION_NAMES))))  # fmt: skip


def save_emulator(emulator: ScalingRelationEmulator, path, metadata: dict) -> Path:
    """Write ``emulator`` and its ``metadata`` (what it was fitted on and how) with :func:`xcosmo.weights.save_weights`."""
    gp = emulator.gps[0]
    structure = {"names": list(RELATION_NAMES), "n_points": int(gp.u.shape[0]), "n_dims": int(gp.u.shape[1])}
    return save_weights(emulator, path, {"structure": structure, **metadata}, format_version=FORMAT_VERSION)


@float64
def load_emulator(path) -> tuple[ScalingRelationEmulator, dict]:
    """The emulator saved at ``path`` and its metadata, checked by :func:`xcosmo.weights.read_weights_meta` (format,
    SHA-256) and against this package's relation quantities."""
    path, meta = read_weights_meta(path, what=_WHAT, format_version=FORMAT_VERSION, required=("structure",),
                                   remedy="fit it again with `xcosmo scaling fit`")  # fmt: skip
    s = meta["structure"]
    if s.get("names") != list(RELATION_NAMES):
        raise ValueError(f"{_WHAT} {str(path)!r} emulates {s.get('names')}, not this package's {list(RELATION_NAMES)}")
    n, d = int(s["n_points"]), int(s["n_dims"])
    z = lambda *shape: jnp.zeros(shape, jnp.float64)  # noqa: E731
    skeleton = ScalingRelationEmulator(tuple(RelationGP(z(n, d), z(n), z(n), z(), z(), z(d), z(), z(), z())
                                             for _ in RELATION_NAMES))  # fmt: skip
    return load_weights(path, skeleton, what=_WHAT), meta
