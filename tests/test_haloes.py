"""Halo finding in periodic boxes (emulators.data.haloes): FoF against a brute-force union-find, spherical-
overdensity masses, NFW concentrations and shapes of haloes sampled with known properties."""

import math

import numpy as np
import pytest

from emulators.data.haloes import find_haloes, friends_of_friends, nfw_concentration

BOX = 20.0  # Mpc/h
RHO_C = 2.775e11  # (Msun/h) / (Mpc/h)^3: rho_crit at z = 0


def _brute_force_fof(pos, box, b):
    n = len(pos)
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        d = pos[i + 1 :] - pos[i]
        d -= box * np.round(d / box)
        for j in np.flatnonzero(np.sum(d**2, axis=1) < b**2) + i + 1:
            parent[root(i)] = root(j)
    return np.array([root(i) for i in range(n)])


def _same_partition(a, b):
    pairs = {(x, y) for x, y in zip(a, b)}
    return len(pairs) == len(set(a)) == len(set(b))


def test_fof_groups_are_those_of_a_brute_force_periodic_union_find():
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 1.0, (400, 3))
    labels = friends_of_friends(pos, 1.0, 0.08)
    assert _same_partition(labels, _brute_force_fof(pos, 1.0, 0.08))
    assert 10 < len(set(labels)) < 390  # neither all singletons nor one group: the test has teeth


def _nfw_halo(rng, centre, m200, c, particle_mass, stretch=(1.0, 1.0, 1.0)):
    """Particles of an NFW halo truncated at R200c, with M(<R200c) = m200."""
    r200 = (3.0 * m200 / (4.0 * math.pi * 200.0 * RHO_C)) ** (1.0 / 3.0)
    n = int(round(m200 / particle_mass))
    x = np.geomspace(1e-4, 1.0, 4000)
    cdf = (np.log1p(c * x) - c * x / (1 + c * x)) / (math.log1p(c) - c / (1 + c))
    r = r200 * np.interp(rng.uniform(0, 1, n), cdf, x)
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return np.mod(centre + r[:, None] * direction * np.asarray(stretch), BOX), r200


def _background(rng, particle_mass, omega_m=0.3):
    n = int(omega_m * RHO_C * BOX**3 / particle_mass)
    return rng.uniform(0, BOX, (n, 3))


@pytest.fixture(scope="module")
def mock():
    rng = np.random.default_rng(1)
    mp = 2e10
    big, r_big = _nfw_halo(rng, np.array([5.0, 5.0, 5.0]), 4e14, 5.0, mp)
    edge, _ = _nfw_halo(rng, np.array([0.3, 19.8, 10.0]), 1e14, 8.0, mp)  # across two faces of the box
    flat, _ = _nfw_halo(rng, np.array([14.0, 14.0, 6.0]), 2e14, 4.0, mp, stretch=(1.0, 0.7, 0.5))
    pos = np.concatenate([big, edge, flat, _background(rng, mp)])
    return find_haloes(pos, BOX, mp, RHO_C), r_big


def test_spherical_overdensity_masses_and_concentrations_of_nfw_haloes(mock):
    haloes, r_big = mock
    assert len(haloes) >= 3
    big = 0  # sorted by mass
    assert haloes.m200c[big] == pytest.approx(4e14, rel=0.03)
    np.testing.assert_allclose(haloes.centre[big], [5.0, 5.0, 5.0], atol=0.03 * r_big)
    # NFW with c = 5: M500c / M200c from the profile (independently of nfw_concentration's bisection)
    from scipy.optimize import brentq

    m = lambda y: math.log1p(y) - y / (1 + y)  # noqa: E731
    x500 = brentq(lambda x: m(5 * x) / m(5.0) / x**3 - 2.5, 0.1, 1.0)  # mean density 500 vs 200 rho_c
    assert haloes.m500c[big] == pytest.approx(4e14 * m(5 * x500) / m(5.0), rel=0.05)
    assert haloes.c200c[big] == pytest.approx(5.0, rel=0.2)
    assert np.all(haloes.axis_ratios[big] > 0.9)


def test_a_halo_across_the_box_faces_is_found_whole(mock):
    haloes, _ = mock
    i = int(np.argmin(np.abs(haloes.m200c - 1e14)))
    assert haloes.m200c[i] == pytest.approx(1e14, rel=0.05)
    d = np.mod(haloes.centre[i] - [0.3, 19.8, 10.0] + BOX / 2, BOX) - BOX / 2
    assert np.linalg.norm(d) < 0.05


def test_the_shape_of_an_ellipsoidal_halo(mock):
    haloes, _ = mock
    i = int(np.argmin(np.linalg.norm(haloes.centre - [14.0, 14.0, 6.0], axis=1)))
    np.testing.assert_allclose(haloes.axis_ratios[i], [0.7, 0.5], atol=0.05)


def test_nfw_concentration_inverts_the_mass_ratio():
    m = lambda y: np.log1p(y) - y / (1 + y)  # noqa: E731
    from scipy.optimize import brentq

    for c in (2.0, 5.0, 12.0):
        x500 = brentq(lambda x: m(c * x) / m(c) / x**3 - 2.5, 0.05, 1.0)
        assert nfw_concentration(m(c * x500) / m(c))[0] == pytest.approx(c, rel=1e-6)
    assert np.isnan(nfw_concentration(0.1)[0])


def test_bad_input():
    with pytest.raises(ValueError, match=r"positions = \(5, 2\) is not allowed: expected shape \(N, 3\)"):
        find_haloes(np.zeros((5, 2)), 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="box_mpc_h = 0.0 is not allowed"):
        find_haloes(np.zeros((5, 3)), 0.0, 1.0, 1.0)
