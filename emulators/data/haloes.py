"""Haloes of a periodic N-body box: friends-of-friends groups, their centres, spherical-overdensity masses and radii,
NFW concentrations and shapes (the haloes around which the synthetic training suite pastes its gas, issue 15).

1. **Friends-of-friends** (Davis et al. 1985): particles closer than ``b`` times the mean interparticle spacing are
   linked, groups are the connected components (scipy's periodic ``cKDTree.query_pairs`` and
   ``csgraph.connected_components``; b = 0.2 by default, the usual choice, which selects haloes near their virial
   overdensity). Groups of fewer than ``min_members`` particles are dropped.
2. **Centre**: the shrinking-sphere centre of each group (Power et al. 2003): the centre of mass of the members
   within a sphere that shrinks by 2.5% per step, from the group's extent to 20 particles, in periodic coordinates.
3. **Spherical overdensity**: around the centre, all particles (members or not) sorted by distance give M(<r);
   R_Delta is the outermost radius where the mean enclosed density M(<r) / (4/3 pi r^3) still reaches Delta
   rho_crit(z) (Delta = 200 and 500), interpolated in log between the particles on either side, and
   M_Delta = Delta rho_crit(z) 4/3 pi R_Delta^3.
4. **Concentration**: the NFW c200c whose mass profile gives the measured M500c / M200c (Navarro, Frenk & White
   1997: M(<r) proportional to ln(1 + c x) - c x / (1 + c x), x = r / R200c), solved by bisection; NaN where the
   ratio lies outside what NFW allows for 1 <= c <= 40.
5. **Shape**: axis ratios b/a and c/a from the eigenvalues of the second-moment tensor of the particles within
   R200c (sqrt of the ratios of eigenvalues).

Units: positions and radii Mpc/h (comoving), masses Msun/h, rho_crit(z) = rho_crit,0 E(z)^2 with the box's cosmology.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xcosmo.checks import check_integer, check_number, require
from xcosmo.constants import RHO_CRIT_0

__all__ = ["Haloes", "find_haloes", "friends_of_friends", "nfw_concentration", "critical_density_comoving"]


@dataclass(frozen=True)
class Haloes:
    """The haloes of one box, sorted by decreasing M200c (arrays of length n_haloes).

    Attributes
    ----------
    centre : (n, 3) shrinking-sphere centres, Mpc/h, wrapped into the box.
    m200c, m500c : spherical-overdensity masses at 200 and 500 rho_crit(z), Msun/h.
    r200c, r500c : their radii, Mpc/h (comoving).
    c200c : NFW concentration from M500c / M200c (NaN where no NFW profile matches).
    axis_ratios : (n, 2) b/a and c/a within R200c.
    n_members : friends-of-friends particle count.
    """

    centre: np.ndarray
    m200c: np.ndarray
    m500c: np.ndarray
    r200c: np.ndarray
    r500c: np.ndarray
    c200c: np.ndarray
    axis_ratios: np.ndarray
    n_members: np.ndarray

    def __len__(self) -> int:
        return len(self.m200c)


def friends_of_friends(positions: np.ndarray, box: float, linking_length: float) -> np.ndarray:
    """Group label of every particle (0, 1, ...; sizes in no particular order) for particles at ``positions`` (N, 3)
    in a periodic box of side ``box``, linked when closer than ``linking_length`` (same units)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(positions)
    tree = cKDTree(np.mod(positions, box), boxsize=box)
    pairs = tree.query_pairs(linking_length, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _wrap(d: np.ndarray, box: float) -> np.ndarray:
    """Periodic separation vectors, into [-box/2, box/2)."""
    return np.mod(d + 0.5 * box, box) - 0.5 * box


def _shrinking_sphere(points: np.ndarray, box: float, shrink: float = 0.025, n_min: int = 20) -> np.ndarray:
    ref = points[0]
    rel = _wrap(points - ref, box)
    centre = rel.mean(axis=0)
    radius = np.sqrt(np.max(np.sum((rel - centre) ** 2, axis=1)))
    inside = rel
    while len(inside) > n_min:
        radius *= 1.0 - shrink
        inside = rel[np.sum((rel - centre) ** 2, axis=1) < radius**2]
        if len(inside) == 0:
            break
        centre = inside.mean(axis=0)
    return np.mod(ref + centre, box)


def _so_radius(r_sorted: np.ndarray, particle_mass: float, threshold: float) -> float:
    """Outermost radius where the mean enclosed density reaches ``threshold`` (log-interpolated); 0 if never."""
    enclosed = particle_mass * np.arange(1, len(r_sorted) + 1)
    density = enclosed / (4.0 / 3.0 * math.pi * np.maximum(r_sorted, 1e-12) ** 3)
    above = np.flatnonzero(density >= threshold)
    if above.size == 0:
        return 0.0
    i = above[-1]
    if i + 1 >= len(r_sorted):
        return float(r_sorted[i])
    r1, r2, d1, d2 = r_sorted[i], r_sorted[i + 1], density[i], density[i + 1]
    if r1 <= 0 or d2 <= 0:
        return float(r1)
    t = math.log(d1 / threshold) / math.log(d1 / d2)
    return float(math.exp(math.log(r1) + t * (math.log(r2) - math.log(r1))))


def _nfw_mass(x):
    return np.log1p(x) - x / (1.0 + x)


def nfw_concentration(m500_over_m200: np.ndarray) -> np.ndarray:
    """The NFW c200c with M500c / M200c = the given ratio (bisection in ln c on [1, 40]); NaN outside that range.

    For NFW, R500 / R200 = (0.4 M500 / M200)^(1/3) and M500 / M200 = m(c R500 / R200) / m(c), m(y) = ln(1+y) -
    y / (1+y); the ratio grows with c, so it has one root.
    """
    q = np.atleast_1d(np.asarray(m500_over_m200, dtype=float))
    x = (0.4 * q) ** (1.0 / 3.0)

    def ratio(c):
        return _nfw_mass(c * x) / _nfw_mass(c) - q

    lo, hi = np.full(q.shape, math.log(1.0)), np.full(q.shape, math.log(40.0))
    ok = (ratio(np.exp(lo)) <= 0) & (ratio(np.exp(hi)) >= 0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        up = ratio(np.exp(mid)) < 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return np.where(ok, np.exp(0.5 * (lo + hi)), np.nan)


def find_haloes(
    positions: np.ndarray,
    box_mpc_h: float,
    particle_mass: float,
    rho_crit: float,
    *,
    linking_length: float = 0.2,
    min_members: int = 20,
) -> Haloes:
    """Haloes of the particles at ``positions`` (N, 3; Mpc/h, comoving) in a periodic box (module docstring).

    Parameters
    ----------
    box_mpc_h : box side, Mpc/h.
    particle_mass : mass of one particle, Msun/h.
    rho_crit : critical density at the box's redshift, (Msun/h) / (Mpc/h)^3 comoving: RHO_CRIT_0 E(z)^2 / (1+z)^3
        (the physical critical density, expressed per comoving volume).
    linking_length : b, in units of the mean interparticle spacing.
    min_members : smallest friends-of-friends group kept.
    """
    positions = np.asarray(positions, dtype=np.float64)
    require(positions.ndim == 2 and positions.shape[1] == 3, "positions", positions.shape, "expected shape (N, 3)")
    box = check_number("box_mpc_h", box_mpc_h, 0.0, math.inf, open=True, unit="Mpc/h")
    check_number("particle_mass", particle_mass, 0.0, math.inf, open=True, unit="Msun/h")
    check_number("rho_crit", rho_crit, 0.0, math.inf, open=True, unit="(Msun/h) / (Mpc/h)^3")
    check_number("linking_length", linking_length, 0.0, 1.0, open=True)
    check_integer("min_members", min_members, 2)
    from scipy.spatial import cKDTree

    n = len(positions)
    spacing = box / n ** (1.0 / 3.0)
    labels = friends_of_friends(positions, box, linking_length * spacing)
    sizes = np.bincount(labels)
    groups = np.flatnonzero(sizes >= min_members)
    tree = cKDTree(np.mod(positions, box), boxsize=box)
    rows = []
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    for g in groups:
        members = positions[order[starts[g] : starts[g + 1]]]
        centre = _shrinking_sphere(members, box)
        extent = np.sqrt(np.max(np.sum(_wrap(members - centre, box) ** 2, axis=1)))
        near = tree.query_ball_point(centre, min(2.0 * extent + spacing, 0.5 * box))
        rel = _wrap(positions[near] - centre, box)
        dist = np.sqrt(np.sum(rel**2, axis=1))
        by_r = np.argsort(dist)
        r_sorted = dist[by_r]
        r200 = _so_radius(r_sorted, particle_mass, 200.0 * rho_crit)
        r500 = _so_radius(r_sorted, particle_mass, 500.0 * rho_crit)
        if r200 <= 0:
            continue
        within = rel[dist < r200]
        moments = within.T @ within / max(len(within), 1)
        eig = np.sort(np.linalg.eigvalsh(moments))[::-1]
        axes = np.sqrt(np.maximum(eig[1:], 0.0) / eig[0]) if eig[0] > 0 else np.full(2, np.nan)
        rows.append((centre, r200, r500, axes, sizes[g]))
    if not rows:
        empty = np.zeros(0)
        return Haloes(np.zeros((0, 3)), empty, empty, empty, empty, empty, np.zeros((0, 2)), np.zeros(0, np.int64))
    centre, r200, r500, axes, members = (np.asarray(c) for c in zip(*rows))
    m200 = 200.0 * rho_crit * 4.0 / 3.0 * math.pi * r200**3
    m500 = 500.0 * rho_crit * 4.0 / 3.0 * math.pi * r500**3
    with np.errstate(divide="ignore", invalid="ignore"):
        c200 = nfw_concentration(np.where(m200 > 0, m500 / m200, np.nan))
    rank = np.argsort(-m200)
    return Haloes(centre[rank], m200[rank], m500[rank], r200[rank], r500[rank], c200[rank], axes[rank],
                  members[rank].astype(np.int64))  # fmt: skip


def critical_density_comoving(cosmo, z: float) -> float:
    """rho_crit(z) per comoving (Mpc/h)^3, (Msun/h) / (Mpc/h)^3: RHO_CRIT_0 E(z)^2 / (1+z)^3."""
    from xcosmo.cosmology import efunc
    from xcosmo.precision import float64

    e = float(float64(lambda: np.asarray(efunc(cosmo, z)))())
    return RHO_CRIT_0 * e**2 / (1.0 + z) ** 3
