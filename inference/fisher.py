"""Fisher matrices of Poisson-distributed binned counts, their covariances, contours and figure of merit (paper 5.1).

For independent Poisson counts with expectations lambda_i(p) (the bins of an XOD, or any other binning) the Fisher
information is (paper eq. 8; Cerardi et al. 2024)

    F_ab = sum_i (1 / lambda_i) d lambda_i / d p_a  d lambda_i / d p_b,

and by the Cramer-Rao bound F^-1 is the smallest covariance an unbiased estimator of p can reach; it is the
covariance of the posterior when the likelihood is Gaussian around its peak. :func:`fisher_matrix` evaluates eq. 8
for any traceable ``fn: p -> lambda`` with the Jacobian from ``jax.jacfwd`` (or central finite differences, for
checks), in float64 (:func:`xcosmo.precision.float64`); :class:`FisherResult` inverts, marginalises, fixes, adds
Gaussian priors, gives the figure of merit and the confidence ellipses; :func:`inference.fisher_plots.plot_fisher`
draws them, as in the paper's figure 11.

Units: every quantity is in the units of its parameter (p_a in its unit, F_ab in 1 / (unit_a unit_b), errors in
the parameter's unit). The analytical model's parameters (:data:`xcosmo.analytic.PHI_NAMES`) span 57 decades
(A_LT ~ 1e44 erg/s h^-2, Omega_m ~ 0.3), so every inversion is done on the Jacobi-scaled matrix
D F D, D = diag(F_aa^-1/2) (unit diagonal), and scaled back: the result is the exact inverse, without the loss of
precision of a raw inverse of F.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from xcosmo.checks import (
    check_choice,
    check_integer,
    check_number,
    check_shape,
    described,
    fail,
    in_range,
    require,
)
from xcosmo.precision import float64

__all__ = ["fisher_matrix", "FisherResult", "Ellipse", "analytic_fisher", "delta_chi2"]

METHODS = ("autodiff", "finite_difference")
_RCOND = 1e-12  # smallest eigenvalue / largest of the Jacobi-scaled F below which F counts as singular


def delta_chi2(n_sigma: float, dof: int = 2) -> float:
    """Delta chi^2 of the region holding the probability of +-n_sigma of a 1-D Gaussian, for ``dof`` parameters.

    For 2 parameters: n_sigma = 1 -> 2.30 (68.3%), n_sigma = 2 -> 6.18 (95.4%).
    """
    from scipy.stats import chi2

    check_number("n_sigma", n_sigma, 0.0, math.inf, open=True)
    return float(chi2.ppf(math.erf(n_sigma / math.sqrt(2.0)), dof))


class Ellipse(NamedTuple):
    """A confidence ellipse of two parameters (x, y) = ``pair``, in their units.

    ``width`` and ``height`` are the full lengths of the axes before rotation and ``angle`` the counter-clockwise
    rotation of the width axis from the x axis in degrees (the conventions of :class:`matplotlib.patches.Ellipse`);
    ``points`` (n, 2) is the closed outline, for ``plot(*points.T)``; ``delta_chi2`` is the level it encloses.
    """

    center: np.ndarray
    width: float
    height: float
    angle: float
    points: np.ndarray
    delta_chi2: float

    @property
    def area(self) -> float:
        """Area, in unit_x * unit_y: pi * delta_chi2 * sqrt(det Cov_pair)."""
        return math.pi * self.width * self.height / 4.0


# --- the Fisher matrix -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class FisherResult:
    """A Fisher matrix at a fiducial point and what follows from it.

    Attributes
    ----------
    matrix : (n, n) Fisher matrix F, float64, in 1 / (unit_a unit_b); symmetrised on construction.
    fiducial : (n,) fiducial parameters p_0, in their units.
    names : (n,) parameter names; ``None`` gives ``p_0``, ``p_1``, ...
    n_bins : number of bins that entered eq. 8 (the others expect no counts), or ``None``.
    """

    matrix: np.ndarray
    fiducial: np.ndarray
    names: tuple[str, ...] | None = None
    n_bins: int | None = None

    def __post_init__(self):
        f = np.array(self.matrix, dtype=np.float64)
        p0 = np.array(self.fiducial, dtype=np.float64).reshape(-1)
        n = p0.size
        check_shape("matrix", f, (n, n), f" (for {n} parameters)")
        in_range("matrix", f)
        d = np.abs(np.diag(f))
        symmetric = np.all(np.abs(f - f.T) <= 1e-8 * (np.sqrt(np.outer(d, d)) + np.abs(f) + np.abs(f.T)))
        require(symmetric, "matrix", described("a non-symmetric matrix"), "a Fisher matrix is symmetric "
                "(to a relative round-off of 1e-8)")  # fmt: skip
        names = tuple(f"p_{i}" for i in range(n)) if self.names is None else tuple(map(str, self.names))
        require(len(names) == n and len(set(names)) == n, "names", names, f"need {n} distinct names, one per parameter")
        object.__setattr__(self, "matrix", 0.5 * (f + f.T))
        object.__setattr__(self, "fiducial", p0)
        object.__setattr__(self, "names", names)

    # --- indexing ---

    def index(self, name: str | int) -> int:
        """Position of parameter ``name`` (a name or an index); ``ValueError`` listing the known names if absent."""
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
            n = len(self.names)
            return check_integer("parameter index", name, -n, n) % n
        return self.names.index(check_choice("parameter", name, self.names))

    def _pair(self, pair) -> tuple[int, int]:
        require(not isinstance(pair, str) and len(pair) == 2, "pair", pair, "expected two parameter names (x, y)")
        i, j = self._indices(pair, "pair")
        return i, j

    def _indices(self, names: Sequence[str | int], what: str) -> list[int]:
        if isinstance(names, str):
            names = [names]
        idx = [self.index(n) for n in names]
        require(len(set(idx)) == len(idx), what, list(names), "a parameter is repeated")
        return idx

    # --- errors and covariance ---

    @functools.cached_property
    def covariance(self) -> np.ndarray:
        """F^-1, in unit_a unit_b: the marginal (Cramer-Rao) covariance. ``ValueError`` naming the most degenerate
        parameter direction if F is singular (smallest eigenvalue of the Jacobi-scaled F below 1e-12 of the largest).
        """
        return _inverse(self.matrix, self.names)

    @property
    def marginal_errors(self) -> np.ndarray:
        """sqrt(diag F^-1): 1-sigma errors marginalised over all other parameters, in the parameters' units."""
        return np.sqrt(np.diag(self.covariance))

    @property
    def conditional_errors(self) -> np.ndarray:
        """1 / sqrt(diag F): 1-sigma errors with all other parameters fixed, in the parameters' units (inf where a
        parameter carries no information)."""
        with np.errstate(divide="ignore"):
            return 1.0 / np.sqrt(np.diag(self.matrix))

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix Cov_ab / sqrt(Cov_aa Cov_bb), dimensionless."""
        s = self.marginal_errors
        return self.covariance / np.outer(s, s)

    def figure_of_merit(self, pair: tuple[str, str] = ("omega_m", "sigma_8")) -> float:
        """1 / sqrt(det Cov_pair), Cov_pair the 2x2 marginalised covariance of ``pair``, in 1 / (unit_x unit_y).

        This is the DETF figure of merit (Albrecht et al. 2006) without its pi: the ellipse enclosing
        Delta chi^2 = 1 has area pi / FoM, and the 68.3% one (Delta chi^2 = 2.30) 2.30 pi / FoM
        (:meth:`ellipse` gives both).
        """
        i, j = self._pair(pair)
        c = self.covariance[np.ix_([i, j], [i, j])]
        return float(1.0 / math.sqrt(np.linalg.det(c)))

    def ellipse(self, pair: tuple[str, str], n_sigma: float = 1.0, n_points: int = 181) -> Ellipse:
        """The marginal confidence ellipse of ``pair`` = (x, y) about the fiducial point.

        ``n_sigma`` picks the 2-parameter region holding the probability of +-n_sigma in 1-D: Delta chi^2 = 2.30
        (68.3%) for 1, 6.18 (95.4%) for 2 (:func:`delta_chi2`); the points satisfy
        d^T Cov_pair^-1 d = Delta chi^2 (Coe 2009, "Fisher matrices and confidence ellipses").
        """
        i, j = self._pair(pair)
        level = delta_chi2(n_sigma, 2)
        c = self.covariance[np.ix_([i, j], [i, j])]
        w, v = np.linalg.eigh(c)  # ascending
        a, b = np.sqrt(level * np.maximum(w[::-1], 0.0))  # semi-axes, major first
        major = v[:, 1]
        t = np.linspace(0.0, 2.0 * math.pi, n_points)
        center = self.fiducial[[i, j]]
        pts = center + np.outer(a * np.cos(t), major) + np.outer(b * np.sin(t), v[:, 0])
        angle = math.degrees(math.atan2(major[1], major[0]))
        return Ellipse(center, 2.0 * a, 2.0 * b, angle, pts, level)

    # --- sub-sets and priors ---

    def _subset(self, idx: list[int], matrix: np.ndarray) -> "FisherResult":
        return FisherResult(matrix, self.fiducial[idx], tuple(self.names[k] for k in idx), self.n_bins)

    def marginalise(self, keep_names: Sequence[str]) -> "FisherResult":
        """Fisher matrix of ``keep_names`` with every other parameter marginalised: (Cov[keep, keep])^-1."""
        idx = self._indices(keep_names, "keep_names")
        return self._subset(idx, _inverse(self.covariance[np.ix_(idx, idx)], [self.names[k] for k in idx]))

    def fix(self, names: Sequence[str]) -> "FisherResult":
        """Fisher matrix of the other parameters with ``names`` held at their fiducial values: F[rest, rest]."""
        fixed = set(self._indices(names, "names"))
        idx = [k for k in range(len(self.names)) if k not in fixed]
        require(bool(idx), "names", list(names), "fixing every parameter leaves none")
        return self._subset(idx, self.matrix[np.ix_(idx, idx)])

    def add_prior(self, prior_sigma) -> "FisherResult":
        """F + diag(1 / sigma^2): independent Gaussian priors of widths ``prior_sigma`` (in the parameters' units).

        ``prior_sigma`` is a sequence of one width per parameter or a mapping name -> width; ``None`` or ``inf``
        means no prior.
        """
        inv_var = _prior_precision(prior_sigma, self.names)
        return dataclasses.replace(self, matrix=self.matrix + np.diag(inv_var))


def _inverse(f: np.ndarray, names: Sequence[str]) -> np.ndarray:
    d = np.diag(f)
    for k in np.flatnonzero(d <= 0):
        raise ValueError(
            f"the Fisher matrix is singular: parameter {names[k]!r} carries no information (F_aa = {d[k]:.3g}); "
            "fix it, marginalise it out or give it a prior"
        )
    s = 1.0 / np.sqrt(d)
    w, v = np.linalg.eigh(f * np.outer(s, s))
    if w[0] <= _RCOND * w[-1]:
        vec = v[:, 0] / np.abs(v[:, 0]).max()
        terms = " ".join(f"{c:+.2f}*{names[k]}" for k in np.argsort(-np.abs(vec)) if abs(c := vec[k]) >= 0.05)
        raise ValueError(
            f"the Fisher matrix is singular (condition number {w[-1] / max(w[0], 1e-300):.3g} of the scaled matrix): "
            f"the data do not constrain the direction {terms} (in units of each parameter's conditional error); "
            "fix or marginalise one of these parameters, or add a prior"
        )
    return (v / w) @ v.T * np.outer(s, s)


def _prior_precision(prior_sigma, names: Sequence[str]) -> np.ndarray:
    n = len(names)
    if isinstance(prior_sigma, Mapping):
        for key in prior_sigma:
            check_choice("prior_sigma parameter", key, tuple(names))
        prior_sigma = [prior_sigma.get(k) for k in names]
    sig = list(prior_sigma)
    require(len(sig) == n, "prior_sigma", sig, f"expected {n} widths, one per parameter {tuple(names)}")
    out = np.zeros(n)
    for k, s in enumerate(sig):
        if s is None:
            continue
        s = float(s)
        require(s > 0, f"prior_sigma[{names[k]!r}]", s, "must be > 0 (None or inf for no prior)")  # NaN too
        out[k] = 0.0 if math.isinf(s) else 1.0 / s**2
    return out


@eqx.filter_jit
def _value_and_jacobian(fn, p):
    return fn(p), jax.jacfwd(fn)(p)


@eqx.filter_jit
def _value(fn, p):
    return fn(p)


@float64
def fisher_matrix(
    fn: Callable[[jax.Array], jax.Array],
    fiducial,
    *,
    prior_sigma=None,
    method: str = "autodiff",
    names: Sequence[str] | None = None,
    min_counts: float = 1e-10,
    rel_step: float = 1e-4,
) -> FisherResult:
    """Fisher matrix of independent Poisson counts with expectations ``fn(p)`` at ``p = fiducial`` (paper eq. 8), float64.

    Parameters
    ----------
    fn : p (n,) -> lambda, expected counts of any shape; JAX-traceable, float64 when traced in float64. It is
        jit-compiled (``equinox.filter_jit``) in float64: pass the same callable (e.g. the
        bound ``AnalyticModel.from_phi``) to reuse the compilation.
    fiducial : (n,) fiducial parameters, finite.
    prior_sigma : optional Gaussian prior widths, one per parameter (or a mapping name -> width); ``None``/inf
        entries mean no prior. Added as diag(1 / sigma^2).
    method : ``"autodiff"`` (``jax.jacfwd``) or ``"finite_difference"``: central differences
        (lambda(p + h_a e_a) - lambda(p - h_a e_a)) / 2 h_a with h_a = rel_step * |p_a|
        (h_a = rel_step where p_a = 0), truncation error O(h^2); for checks.
    names : parameter names (default ``p_0``, ...).
    min_counts : bins expecting fewer than ``min_counts`` clusters (including lambda <= 0, e.g. bins below a flux
        cut) are left out of the sum: their information lambda_i (d ln lambda_i / d p)^2 is negligible and 1 /
        lambda_i is ill-conditioned there. Counts below -min_counts are an error (a broken model).
    rel_step : relative finite-difference step (``method="finite_difference"`` only).

    Raises
    ------
    ValueError : fiducial not a finite 1-D vector, unknown method, fn returning non-float64, non-finite or negative
        counts or non-finite derivatives, bad ``prior_sigma``.
    """
    check_choice("method", method, METHODS)
    check_number("min_counts", min_counts, 0.0)
    check_number("rel_step", rel_step, 0.0, 1.0, open=True)
    fiducial = _check_fiducial(fiducial, names)
    result_names = tuple(names) if names is not None else None
    th = jnp.asarray(fiducial, dtype=jnp.float64)
    if method == "autodiff":
        lam, jac = _value_and_jacobian(fn, th)
        lam, jac = _check_counts(lam, min_counts), np.asarray(jac, dtype=np.float64)
        jac = jac.reshape(lam.size, fiducial.size)
    else:
        lam = _check_counts(_value(fn, th), min_counts)
        steps = np.where(fiducial != 0, rel_step * np.abs(fiducial), rel_step)
        cols = []
        for a, h in enumerate(steps):
            th_up, th_down = th.at[a].add(h), th.at[a].add(-h)
            up, down = _check_counts(_value(fn, th_up), None), _check_counts(_value(fn, th_down), None)
            cols.append((up - down).reshape(-1) / float(th_up[a] - th_down[a]))  # the step actually taken
        jac = np.stack(cols, axis=-1)
    lam = lam.reshape(-1)
    used = lam > min_counts
    if not used.any():
        raise ValueError(f"fn returned no bin with more than min_counts = {min_counts:g} expected counts")
    j = jac[used]
    bad = ~np.all(np.isfinite(j), axis=0)
    if bad.any():
        label = result_names[int(np.argmax(bad))] if result_names else f"p_{int(np.argmax(bad))}"
        raise ValueError(f"d lambda / d {label} is not finite in some bins with counts: fix the model at the fiducial point")
    # F = J^T diag(1/lambda) J, with J scaled column-wise to O(1) so that no product under- or overflows
    scale = np.abs(j).max(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    js = j / scale
    f = (js / lam[used, None]).T @ js * np.outer(scale, scale)
    out = FisherResult(f, fiducial, result_names, int(used.sum()))
    return out if prior_sigma is None else out.add_prior(prior_sigma)


def _check_fiducial(fiducial, names) -> np.ndarray:
    arr = np.asarray(fiducial)
    check_shape("fiducial", arr, (None,), " (a 1-D parameter vector)")
    require(arr.size > 0, "fiducial", arr, "expected at least one parameter")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        fail("fiducial", described(f"an array of dtype {arr.dtype}"), "expected real numbers", TypeError)
    arr = arr.astype(np.float64)
    require(names is None or len(names) == arr.size, "names", names, f"expected {arr.size} names, one per parameter")
    for k in np.flatnonzero(~np.isfinite(arr)):
        label = names[k] if names is not None else f"p_{k}"
        hint = " (a float32 overflow? give it as a float64 numpy array)" if np.isinf(arr[k]) else ""
        fail(f"fiducial[{k}] ({label})", float(arr[k]), f"must be finite{hint}")
    return arr


def _check_counts(lam, min_counts: float | None) -> np.ndarray:
    dtype = np.dtype(getattr(lam, "dtype", np.asarray(lam).dtype))
    if dtype != np.float64:
        raise ValueError(
            f"fn returned counts of dtype {dtype}: expected float64 (fisher_matrix traces fn with x64 on: do not "
            "cast its result)"
        )
    lam = np.asarray(lam)
    if not np.all(np.isfinite(lam)):
        raise ValueError(f"fn returned {int(np.sum(~np.isfinite(lam)))} non-finite expected counts (NaN or inf)")
    if min_counts is not None and lam.size and lam.min() < -min_counts:
        k = tuple(int(i) for i in np.unravel_index(int(np.argmin(lam)), lam.shape))
        raise ValueError(f"fn returned negative expected counts: lambda{list(k)} = {lam[k]:.4g} (counts must be >= 0)")
    return lam


def analytic_fisher(forward=None, phi=None, *, prior_sigma=None, method: str = "autodiff") -> FisherResult:
    """Fisher matrix of the analytical model (:class:`xcosmo.analytic.AnalyticModel`, default survey and binning
    when ``forward`` is None) at ``phi`` (default the fiducial phi of its relation set), with the names
    :data:`xcosmo.analytic.PHI_NAMES`."""
    from xcosmo.analytic import PHI_NAMES, AnalyticModel

    forward = AnalyticModel.build() if forward is None else forward
    phi = forward.fiducial_phi() if phi is None else phi
    return fisher_matrix(forward.from_phi, phi, prior_sigma=prior_sigma, method=method, names=PHI_NAMES)
