"""Baryon pasting on the grid (emulators.data.paste): mass budget, profiles at voxel scale, mixing by pressure."""

import math

import numpy as np
import pytest

from emulators.data.gas_profiles import GasModel, duffy08_concentration, halo_profiles, stellar_fraction
from emulators.data.haloes import Haloes
from emulators.data.paste import paste_gas
from xcosmo.constants import RHO_CRIT_0

OM, OB, H, Z = 0.3, 0.049, 0.68, 0.2
BOX, N = 24.96, 64  # 0.39 Mpc/h voxels


def _haloes(centres, masses, c=5.0):
    centres, masses = np.atleast_2d(centres).astype(float), np.asarray(masses, float)
    rho_c = RHO_CRIT_0 * (OM * (1 + Z) ** 3 + 1 - OM) / (1 + Z) ** 3  # per comoving volume
    r200 = (3 * masses / (4 * math.pi * 200 * rho_c)) ** (1 / 3)
    return Haloes(centres, masses, 0.7 * masses, r200, 0.65 * r200, np.full(len(masses), c), np.ones((len(masses), 2)),
                  np.full(len(masses), 100))  # fmt: skip


def test_the_box_holds_its_baryons():
    """Halo gas + IGM + stars = f_b times the box's matter."""
    haloes = _haloes([[5.0, 5.0, 5.0], [15.0, 12.0, 3.0]], [3e14, 5e13])
    rho = 1.0 + 0.3 * np.sin(np.linspace(0, 2 * np.pi, N, endpoint=False))[:, None, None] * np.ones((N, N, N))
    n_e, kt = paste_gas(haloes, rho, BOX, Z, OM, OB, H)
    from emulators.data.gas_profiles import MU_E
    from xcosmo.constants import M_PROTON_G, MPC_CM, MSUN_G

    voxel_cm3 = (BOX / N / H * MPC_CM) ** 3
    gas = (n_e * voxel_cm3 * MU_E * M_PROTON_G / MSUN_G * H).sum()  # Msun/h
    matter = OM * RHO_CRIT_0 * (BOX / N) ** 3 * rho.sum()
    stars = sum(float(stellar_fraction(m)) * m for m in haloes.m200c)
    assert gas + stars == pytest.approx(OB / OM * matter, rel=1e-6)
    assert np.all(kt >= 0) and kt.max() > 2.0  # the 3e14 Msun/h cluster is keV-hot


def test_a_pasted_halo_follows_its_profile_at_voxel_scale():
    haloes = _haloes([[12.48, 12.48, 12.48]], [4e14])
    n_e, kt = paste_gas(haloes, np.full((N, N, N), 1e-6), BOX, Z, OM, OB, H)  # no IGM: only the halo
    r200_phys = haloes.r200c[0] / (1 + Z)
    prof = halo_profiles(4e14, r200_phys, float(duffy08_concentration(4e14, Z)), Z, OB / OM, GasModel())
    centre = 32  # 12.48 / 0.39
    for k in (3, 5):  # voxels at 1.17 and 1.95 Mpc/h (comoving) from the centre
        r_phys = k * BOX / N / (1 + Z)
        expected = np.interp(r_phys, prof.r, prof.n_e) * H**2 / (1 + Z) ** 3  # comoving cm^-3
        assert n_e[centre + k, centre, centre] == pytest.approx(expected, rel=0.15)
        assert kt[centre + k, centre, centre] == pytest.approx(np.interp(r_phys, prof.r, prof.kt), rel=0.15)


def test_overlapping_gas_mixes_by_pressure_not_by_temperature():
    """Two haloes pasted together: n_e adds, and kT is the electron-weighted mean of the two (pressures add)."""
    a, b = _haloes([[10.0, 10.0, 10.0]], [2e14]), _haloes([[11.5, 10.0, 10.0]], [5e13])
    both = _haloes([[10.0, 10.0, 10.0], [11.5, 10.0, 10.0]], [2e14, 5e13])
    empty = np.full((N, N, N), 1e-6)
    na, ta = paste_gas(a, empty, BOX, Z, OM, OB, H)
    nb, tb = paste_gas(b, empty, BOX, Z, OM, OB, H)
    nab, tab = paste_gas(both, empty, BOX, Z, OM, OB, H)
    np.testing.assert_allclose(nab, na + nb, rtol=1e-10, atol=1e-30)
    overlap = (na > 0) & (nb > 0)
    assert overlap.sum() > 10
    np.testing.assert_allclose(tab[overlap], (na * ta + nb * tb)[overlap] / (na + nb)[overlap], rtol=1e-9)
    assert np.all(tab[overlap] < (ta + tb)[overlap])  # not a sum of temperatures
