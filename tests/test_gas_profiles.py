"""Baryonification gas profiles and hydrostatic temperatures of the synthetic suite (emulators.data.gas_profiles)."""

import math

import numpy as np
import pytest

from emulators.data.gas_profiles import (
    G_KMS2_MPC_MSUN,
    MU,
    GasModel,
    gas_fraction,
    halo_profiles,
    stellar_fraction,
)
from xcosmo.constants import KEV_ERG, M_PROTON_G, RHO_CRIT_0

F_B = 0.04897 / 0.3


def _halo(m200, z=0.0, c=5.0, model=GasModel()):
    e2 = 0.3 * (1 + z) ** 3 + 0.7
    r200 = (3 * m200 / (4 * math.pi * 200 * RHO_CRIT_0 * e2)) ** (1 / 3)  # physical Mpc/h
    return halo_profiles(m200, r200, c, z, F_B, model), r200


def test_the_bound_gas_is_f_gas_m200c_and_more_compact_in_massive_haloes():
    """All of the bound gas is f_gas M200c; the share within R200c grows with mass (beta(M) steepens the profile)."""
    inside = []
    for m in (1e13, 1e14, 1e15):
        prof, r200 = _halo(m)
        f_gas = float(gas_fraction(m, F_B, GasModel()))
        assert prof.m_gas[-1] == pytest.approx(f_gas * m, rel=1e-9)
        inside.append(np.interp(r200, prof.r, prof.m_gas) / prof.m_gas[-1])
    assert 0 < inside[0] < inside[1] < inside[2] < 1


def test_gas_fraction_rises_with_mass_to_the_cosmic_baryons_less_stars():
    m = np.geomspace(1e13, 1e16, 20)  # groups to the most massive clusters
    f = gas_fraction(m, F_B, GasModel())
    assert np.all(np.diff(f) > 0)
    assert float(gas_fraction(1e19, F_B, GasModel())) == pytest.approx(F_B - float(stellar_fraction(1e19)), rel=0.01)
    assert 0.3 < float(gas_fraction(1e15, F_B, GasModel())) / F_B < 1.0
    stronger = gas_fraction(1e14, F_B, GasModel(m_c=10**14.5))  # more ejection: less bound gas
    assert stronger < gas_fraction(1e14, F_B, GasModel())


def test_pressure_is_in_hydrostatic_equilibrium():
    """Without the non-thermal share, dP_th/dr = -rho_gas G M(<r) / r^2 along the profile (centred differences)."""
    prof, r200 = _halo(1e14, model=GasModel(alpha_0=0.0, heating=1.0))
    r, p, rho = prof.r, prof.p_th, prof.rho_gas
    sel = (r > 0.05 * r200) & (r < 2 * r200)
    dpdr = np.gradient(p, r)[sel]
    c = 5.0
    m = lambda y: np.log1p(y) - y / (1 + y)  # noqa: E731
    g = G_KMS2_MPC_MSUN * 1e14 * m(c * r / r200) / m(c) / r**2
    np.testing.assert_allclose(dpdr, -(rho * g)[sel], rtol=0.02)


def test_temperatures_are_virial_and_scale_with_mass():
    """kT at 0.5 R200c within a factor 2 of the virial temperature mu m_p G M200c / (2 R200c), and T ~ M^(2/3)."""
    temps = []
    for m in (1e13, 1e14, 1e15):
        prof, r200 = _halo(m)
        kt_vir = MU * M_PROTON_G * 1e10 * G_KMS2_MPC_MSUN * m / (2 * r200) / KEV_ERG
        kt = np.interp(0.5 * r200, prof.r, prof.kt)
        assert 0.5 < kt / kt_vir < 2.0
        temps.append(kt)
    assert temps[2] / temps[1] == pytest.approx(10 ** (2 / 3), rel=0.25)
    assert 1.0 < temps[1] < 6.0  # keV for 1e14 Msun/h: a group-to-cluster temperature (calibrated later on CAMELS)


def test_heating_scales_the_temperature_and_gas_scale_the_gas():
    base, _ = _halo(1e14)
    hot, _ = _halo(1e14, model=GasModel(heating=2 * GasModel().heating))
    rich, _ = _halo(1e14, model=GasModel(gas_scale=1.5))
    np.testing.assert_allclose(hot.kt, 2 * base.kt, rtol=1e-12)
    np.testing.assert_allclose(rich.rho_gas, 1.5 * base.rho_gas, rtol=1e-12)
    np.testing.assert_allclose(rich.kt, base.kt, rtol=1e-12)


def test_non_thermal_pressure_lowers_the_temperature_outside():
    hot, r200 = _halo(1e14, model=GasModel(alpha_0=0.0))
    cool, _ = _halo(1e14)
    outer = (hot.r > r200) & (hot.r < 10 * r200)  # (P = 0 at the outer edge of the integral)
    assert np.all(cool.kt[outer] < hot.kt[outer])


def test_bad_parameters():
    with pytest.raises(ValueError, match="mu = -1.0 is not allowed"):
        GasModel(mu=-1.0)
    with pytest.raises(ValueError, match="m200c = 0.0 is not allowed"):
        halo_profiles(0.0, 1.0, 5.0, 0.0, F_B)
