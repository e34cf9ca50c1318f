"""A mixture density network (Bishop 1994): the conditional density q(z | y) of the parameters z given a statistic y.

Paper 3.2: the posterior is learnt from the compressed statistic by neural posterior estimation (Papamakarios &
Murray 2016) with an MDN of 10 Gaussian components,

    q(z | y) = sum_k pi_k(y) N(z; mu_k(y), Sigma_k(y)),    Sigma_k = L_k L_k^T,

where a multi-layer perceptron of the standardised statistic (y - y_mean) / y_std gives the mixture's logits, the
means and the Cholesky factors L_k (lower triangular, diagonal exp(s) > 0: full covariances). Trained by maximum
likelihood on simulated pairs (z, y), q approaches the posterior p(z | y) under the simulations' prior.

The variables are the parameters' standard normal coordinates z = Phi^-1(u), u their coordinates in the prior's unit
cube (:mod:`inference.sbi.dataset`), in which the prior is N(0, I): every draw of q maps to a point inside the prior
(u = Phi(z)), so no draw is rejected, and a parameter the data do not constrain has the Gaussian posterior one
component represents exactly. (In u, such a posterior is uniform on [0, 1], which a Gaussian mixture fits only roughly,
and mixture draws outside the cube must be rejected, as the ``sbi`` package does with a bounded prior.)
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["MDN"]

_MIN_LOG_SCALE = -9.0
"""Smallest ln of a Cholesky diagonal element: widths of 1e-4 of the unit cube, far below any posterior's."""


class MDN(eqx.Module):
    """q(z | y) of the module docstring: ``n_components`` Gaussians in ``dim`` dimensions, conditioned on a statistic
    of ``n_in`` numbers by an MLP of ``depth`` hidden layers of ``width``; ``y_mean``, ``y_std`` standardise the
    statistic (set by :meth:`with_standardisation` from the training statistics; never trained)."""

    mlp: eqx.nn.MLP
    y_mean: jax.Array
    y_std: jax.Array
    n_components: int = eqx.field(static=True)
    dim: int = eqx.field(static=True)

    def __init__(self, n_in: int, dim: int, *, key: jax.Array, n_components: int = 10, width: int = 64, depth: int = 2):
        self.n_components, self.dim = int(n_components), int(dim)
        n_tril = dim * (dim + 1) // 2
        self.mlp = eqx.nn.MLP(n_in, n_components * (1 + dim + n_tril), width, depth, activation=jnp.tanh, key=key)
        self.y_mean = jnp.zeros(n_in)
        self.y_std = jnp.ones(n_in)

    def with_standardisation(self, y: jax.Array) -> "MDN":
        """This MDN standardising its input by the mean and standard deviation of the statistics ``y`` (n, n_in)."""
        y = jnp.asarray(y)
        std = jnp.std(y, axis=0)
        return eqx.tree_at(lambda m: (m.y_mean, m.y_std), self, (jnp.mean(y, axis=0), jnp.where(std > 0, std, 1.0)))

    def mixture(self, y: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(log weights (K,), means (K, D), Cholesky factors (K, D, D)) of q(. | y) for one statistic ``y``."""
        k, d = self.n_components, self.dim
        z = (y - jax.lax.stop_gradient(self.y_mean)) / jax.lax.stop_gradient(self.y_std)
        out = self.mlp(z)
        logits, means, tril = jnp.split(out, [k, k * (1 + d)])
        rows, cols = jnp.tril_indices(d)
        chol = jnp.zeros((k, d, d)).at[:, rows, cols].set(tril.reshape(k, -1))
        diag = jnp.maximum(jnp.diagonal(chol, axis1=1, axis2=2), _MIN_LOG_SCALE)
        chol = chol - jax.vmap(jnp.diag)(jnp.diagonal(chol, axis1=1, axis2=2)) + jax.vmap(jnp.diag)(jnp.exp(diag))
        return jax.nn.log_softmax(logits), means.reshape(k, d), chol

    def log_prob(self, z: jax.Array, y: jax.Array) -> jax.Array:
        """ln q(z | y) for one point ``z`` (D,) and statistic ``y``."""
        log_w, means, chol = self.mixture(y)

        def component(mean, l):
            r = jax.scipy.linalg.solve_triangular(l, z - mean, lower=True)
            return -0.5 * jnp.sum(r**2) - jnp.sum(jnp.log(jnp.diagonal(l))) - 0.5 * self.dim * math.log(2 * math.pi)

        return jax.nn.logsumexp(log_w + jax.vmap(component)(means, chol))

    def sample(self, key: jax.Array, y: jax.Array, n: int) -> jax.Array:
        """``n`` draws (n, D) of q(. | y)."""
        log_w, means, chol = self.mixture(y)
        k_comp, k_eps = jax.random.split(key)
        which = jax.random.categorical(k_comp, log_w, shape=(n,))
        eps = jax.random.normal(k_eps, (n, self.dim))
        return means[which] + jnp.einsum("nij,nj->ni", chol[which], eps)
