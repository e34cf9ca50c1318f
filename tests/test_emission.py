"""Tests of xcosmo.xray.emission: the pyatomdb free-free table, its JAX interpolation and observed spectra.

References: van Hoof et al. (2014, 2015) Gaunt factors in shared/data/gaunt; Rybicki & Lightman (1979) eqs. 5.14b,
5.15b for the Kramers constant and the total power; XSPEC's apec/zbremss redshift convention.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy import constants as const
from astropy import units as u
from scipy.interpolate import RegularGridInterpolator
from scipy.special import exp1

from xcosmo.xray import atomdb
from xcosmo.xray import emission as em
from xcosmo.xray.spectrum import apec_norm, photon_flux

ROOT = Path(__file__).resolve().parents[1]
# A check attached to a traced value (equinox.error_if) raises when the compiled function runs: an EquinoxRuntimeError
# under eqx.filter_jit; under jax.jit the callback's failure, a JaxRuntimeError or a ValueError depending on the path.
# The tests match the message.
TRACED_ERROR = Exception

# Physical constants, cgs (Gaussian units for the charge), and k_B, Ry in keV.
E_ESU = const.e.gauss.value
M_E = const.m_e.cgs.value
C_CGS = const.c.cgs.value
H_CGS = const.h.cgs.value
KB_CGS = const.k_B.cgs.value
KB_KEV = const.k_B.to(u.keV / u.K).value
RY_KEV = (const.Ryd * const.h * const.c).to(u.keV).value
ERG_KEV = (1 * u.keV).to(u.erg).value

# Rybicki & Lightman eq. 5.14b: eps_nu = C_ff Z^2 n_e n_i T^-1/2 exp(-h nu / kT) g_ff  [erg s^-1 cm^-3 Hz^-1],
# C_ff = 2^5 pi e^6 / (3 m_e c^3) * sqrt(2 pi / (3 k_B m_e)) = 6.84e-38 (cgs). As photons per keV of photon energy:
# dN/dE = eps_nu (dnu/dE) / E = C_ff / h * g_ff exp(-u) / (sqrt(T) E_keV)  [photons cm^3 s^-1 keV^-1].
C_FF = 2**5 * np.pi * E_ESU**6 / (3 * M_E * C_CGS**3) * np.sqrt(2 * np.pi / (3 * KB_CGS * M_E))
KRAMERS_PHOTON = C_FF / H_CGS


def kramers_photon_emissivity(energy_kev, kt_kev):
    """Hydrogen free-free photon emissivity without Gaunt factor, photons cm^3 s^-1 keV^-1 per n_e n_p."""
    temp_k = kt_kev / KB_KEV
    return KRAMERS_PHOTON * np.exp(-energy_kev / kt_kev) / (np.sqrt(temp_k) * energy_kev)


def read_van_hoof(path: Path) -> list[float]:
    """All numbers of a van Hoof Gaunt-factor file, comments (after '#') dropped."""
    values: list[float] = []
    for line in path.read_text().splitlines():
        values += [float(x) for x in line.split("#")[0].split()]
    return values


@pytest.fixture(scope="module", autouse=True)
def private_cache_env(tmp_path_factory):
    """Keep pyatomdb's ATOMDB stub and any default cache out of the user's home during these tests."""
    stub = tmp_path_factory.mktemp("atomdb")
    (stub / "userdata").touch()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
        mp.setenv("ATOMDB", str(stub))
        yield


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("brems-cache")


@pytest.fixture(scope="module")
def table(cache) -> em.BremsTable:
    """The default table, built once into a fresh cache folder (the build must take at most ~30 s)."""
    start = time.perf_counter()
    tab = em.load_brems_table(cache=cache)
    elapsed = time.perf_counter() - start
    assert elapsed < 30.0, f"building the table took {elapsed:.1f} s"
    return tab


# --- pyatomdb set-up ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("setting", ["unset", "no-userdata"])
def test_pyatomdb_is_imported_lazily_and_never_prompts(tmp_path, setting):
    """pyatomdb is imported on first use, without its question on stdin (which would fail here: stdin is empty), and
    the process environment is left as it was: ATOMDB unset stays unset, the user's value is kept and nothing is
    written into the user's folder. Later imports, even a bare ``import pyatomdb``, do not ask either."""
    env = {k: v for k, v in os.environ.items() if k != "ATOMDB"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    env["JAX_PLATFORMS"] = "cpu"
    if setting == "no-userdata":
        (tmp_path / "mine").mkdir()
        env["ATOMDB"] = str(tmp_path / "mine")
    script = textwrap.dedent(
        """
        import os, sys
        import xcosmo.xray.emission as em
        assert "pyatomdb" not in sys.modules, "pyatomdb imported eagerly"
        before = os.environ.get("ATOMDB")
        eps = em.brems_emissivity([1.0], 2.0)
        assert "pyatomdb" in sys.modules and eps[0] > 0
        assert os.environ.get("ATOMDB") == before, (before, os.environ.get("ATOMDB"))
        assert em.brems_emissivity([1.0], 2.0)[0] == eps[0]
        import pyatomdb
        print("ATOMDB=" + str(os.environ.get("ATOMDB")))
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Set up AtomDB" not in res.stdout
    stub = tmp_path / "xdg" / "xcosmo" / "atomdb"
    assert (stub / "userdata").is_file()  # the stub the import ran with
    if setting == "unset":
        assert "ATOMDB=None" in res.stdout
    else:
        assert f"ATOMDB={tmp_path / 'mine'}" in res.stdout
        assert not (tmp_path / "mine" / "userdata").exists()


def test_atomdb_environment_is_scoped(tmp_path, monkeypatch):
    monkeypatch.delenv("ATOMDB", raising=False)
    with atomdb.atomdb_environment(tmp_path / "stub") as folder:
        assert os.environ["ATOMDB"] == str(folder) == str(tmp_path / "stub")
        assert (folder / "userdata").is_file()
    assert "ATOMDB" not in os.environ
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv("ATOMDB", str(mine))
    with atomdb.atomdb_environment(tmp_path / "stub") as folder:  # no userdata: the stub, for the block only
        assert os.environ["ATOMDB"] == str(tmp_path / "stub")
    assert os.environ["ATOMDB"] == str(mine) and not (mine / "userdata").exists()
    (mine / "userdata").touch()
    with atomdb.atomdb_environment(tmp_path / "other") as folder:  # a usable ATOMDB of the user's is used as it is
        assert folder == mine and os.environ["ATOMDB"] == str(mine)
    assert not (tmp_path / "other").exists()


def test_ag89_abundances_and_metallicity():
    a = em.abundances(0.3)
    np.testing.assert_allclose(em.AG89_ABUNDANCES[[0, 1, 7, 25]], [1.0, 9.77e-2, 8.51e-4, 4.68e-5], rtol=2e-3)
    np.testing.assert_allclose(a[:2], em.AG89_ABUNDANCES[:2])
    np.testing.assert_allclose(a[2:], 0.3 * em.AG89_ABUNDANCES[2:])
    with pytest.raises(ValueError, match=r"metallicity = -0.1 .*allowed range \[0, 10\]"):
        em.abundances(-0.1)


# --- physics against references ------------------------------------------------------------------------------------


def test_pyatomdb_constant_is_the_kramers_constant(table):
    """The table's prefactor is C_ff sqrt(k_B) / h * sum (n_Z/n_H) Z^2 (R&L eq. 5.14b) to 1e-4."""
    z2 = np.arange(1, 31) ** 2.0
    expected = KRAMERS_PHOTON * np.sqrt(KB_KEV) * float(em.abundances(0.3) @ z2)
    assert table.prefactor == pytest.approx(expected, rel=1e-4)


def test_hydrogen_gaunt_factor_matches_van_hoof(shared_data):
    """Gaunt factor implied by pyatomdb's H continuum vs van Hoof et al. (2014): within 10% (measured: 1.2%)."""
    values = read_van_hoof(shared_data / "gaunt" / "gauntff_merged_Z01.dat")
    n_gam2, n_u = int(values[1]), int(values[2])
    log_gam2_0, log_u_0, step, z_atom = values[3:7]
    assert (n_gam2, n_u, z_atom) == (81, 146, 1.0)
    grid = np.array(values[7:]).reshape(n_u, n_gam2)  # rows: log u, columns: log gamma^2
    van_hoof = RegularGridInterpolator(
        (log_u_0 + step * np.arange(n_u), log_gam2_0 + step * np.arange(n_gam2)), grid, method="cubic"
    )
    energy = np.geomspace(0.5, 7.0, 25)
    kts = np.geomspace(1.0, 10.0, 9)
    implied = em.brems_emissivity(energy, kts, elements=(1,)) / kramers_photon_emissivity(energy, kts[:, None])
    log_u = np.log10(energy[None, :] / kts[:, None])
    log_gam2 = np.broadcast_to(np.log10(RY_KEV / kts)[:, None], log_u.shape)
    reference = van_hoof(np.stack([log_u.ravel(), log_gam2.ravel()], -1)).reshape(log_u.shape)
    deviation = np.abs(implied / reference - 1.0)
    assert deviation.max() < 0.10, f"max deviation {deviation.max():.3f}"
    assert np.all((implied > 0.4) & (implied < 2.5))  # g_ff is 0.47 (E/kT = 7) to 2.18 (E/kT = 0.05)


@pytest.mark.parametrize("kt", [1.0, 2.0, 5.0, 10.0])
def test_total_power_gives_textbook_frequency_averaged_gaunt_factor(kt, shared_data):
    """int E eps dE = 1.4e-27 T^1/2 g_B erg cm^3 s^-1 (R&L eq. 5.15b, Z = 1): g_B in 1.1-1.5 (measured 1.17-1.25).

    With the exact constant 1.4256e-27 the implied <g_B> also matches van Hoof's frequency-integrated value to 2%.
    """
    energy = np.geomspace(1e-5 * kt, 60.0 * kt, 20001)
    eps = em.brems_emissivity(energy, kt, elements=(1,))
    power = np.trapezoid(energy**2 * eps, np.log(energy)) * ERG_KEV  # erg cm^3 s^-1 per n_e n_p
    sqrt_t = np.sqrt(kt / KB_KEV)
    g_b = power / (1.4e-27 * sqrt_t)
    assert 1.1 < g_b < 1.5
    exact = 2**5 * np.pi * E_ESU**6 / (3 * H_CGS * M_E * C_CGS**3) * np.sqrt(2 * np.pi * KB_CGS / (3 * M_E))
    values = read_van_hoof(shared_data / "gaunt" / "gauntff_freqint_Z01.dat")
    n = int(values[1])
    freqint = np.array(values[5 : 5 + 2 * n]).reshape(n, 2)
    g_van_hoof = np.interp(np.log10(RY_KEV / kt), freqint[:, 0], freqint[:, 1])
    assert power / (exact * sqrt_t) == pytest.approx(g_van_hoof, rel=0.02)


def test_metals_add_a_few_percent_to_free_free():
    """Z = 0.3 solar vs H+He only, per n_e n_H: +3.0% (1 keV, 10 keV plasma) to +6.2% (7 keV, 1 keV plasma)."""
    energy = np.geomspace(0.5, 7.0, 8)
    kts = np.array([1.0, 2.0, 5.0, 10.0])
    ratio = em.brems_emissivity(energy, kts) / em.brems_emissivity(energy, kts, elements=(1, 2))
    assert np.all((ratio > 1.02) & (ratio < 1.08)), ratio
    assert ratio.min() == pytest.approx(1.030, abs=0.003) and ratio.max() == pytest.approx(1.062, abs=0.003)
    with_solar = em.brems_emissivity(energy, kts, metallicity=1.0) / em.brems_emissivity(energy, kts)
    assert np.all(with_solar > 1.0)


# --- the JAX table -------------------------------------------------------------------------------------------------


def test_interpolated_table_matches_pyatomdb_off_grid(table):
    """Off-grid (E, kT) within 1% of direct do_brems for kT = 0.1-12 keV and E/kT < 20 (float64 and float32).

    Measured: median 1e-5, max 0.8%, the worst next to pyatomdb's own jumps of the Gaunt factor (where the Kellogg
    fit switches regime: kT = 0.136 and 0.544 keV, up to 0.6%). Above 12 keV the fit jumps by up to 4.6% at
    kT = 13.6 keV (Born approximation for hydrogen), which no smooth interpolant can follow.
    """
    rng = np.random.default_rng(42)
    kts = np.exp(rng.uniform(np.log(0.1), np.log(12.0), 120))
    energy = np.exp(rng.uniform(np.log(0.05), np.log(60.0), 150))
    direct = em.brems_emissivity(energy, kts)
    kk, ee = np.meshgrid(kts, energy, indexing="ij")
    keep = ee / kk < 20.0
    with jax.enable_x64(True):
        eps64 = np.asarray(table.emissivity(ee, kk))
    eps32 = np.asarray(table.emissivity(ee.astype(np.float32), kk.astype(np.float32)))
    assert eps32.dtype == np.float32
    for eps in (eps64, eps32):
        rel = np.abs(eps[keep] / direct[keep] - 1.0)
        assert rel.max() < 0.01, f"max relative error {rel.max():.4f}"
        assert np.median(rel) < 1e-3


def test_table_nodes_reproduce_do_brems_exactly(table):
    energy = np.exp(table.log_energy[::37])
    kts = np.exp(table.log_kt[::13])
    with jax.enable_x64(True):
        eps = np.asarray(table.emissivity(energy[None, :], kts[:, None]))
    np.testing.assert_allclose(eps, em.brems_emissivity(energy, kts), rtol=1e-9, atol=1e-300)


def test_gradient_in_kt_and_energy_is_finite_and_matches_finite_differences(table):
    with jax.enable_x64(True):
        f = jax.jit(lambda e, kt: jnp.log(table.emissivity(e, kt)))
        for e, kt in [(0.7, 0.9), (2.3, 4.1), (6.0, 7.7), (1.1, 0.25)]:
            d_kt = float(jax.grad(f, argnums=1)(e, kt))
            d_e = float(jax.grad(f, argnums=0)(e, kt))
            h = 1e-6
            fd_kt = (float(f(e, kt * (1 + h))) - float(f(e, kt * (1 - h)))) / (2 * h * kt)
            fd_e = (float(f(e * (1 + h), kt)) - float(f(e * (1 - h), kt))) / (2 * h * e)
            assert np.isfinite(d_kt) and d_kt == pytest.approx(fd_kt, rel=1e-5)
            assert np.isfinite(d_e) and d_e == pytest.approx(fd_e, rel=1e-5)
            # and the slope follows pyatomdb's: d ln eps / d ln kT to 2% of its finite difference
            direct = em.brems_emissivity([e], np.array([kt * 1.01, kt / 1.01]))[:, 0]
            slope = np.log(direct[0] / direct[1]) / (2 * np.log(1.01))
            assert d_kt * kt == pytest.approx(slope, rel=0.02, abs=0.02)
    g32 = jax.grad(lambda kt: table.emissivity(jnp.float32(2.0), kt))(jnp.float32(3.0))
    assert g32.dtype == jnp.float32 and np.isfinite(float(g32))


def test_table_works_as_a_jit_argument_in_float32(table):
    f = eqx_jit_emissivity()
    out = f(table, jnp.linspace(0.5, 7.0, 5, dtype=jnp.float32), jnp.float32(3.0))
    assert out.dtype == jnp.float32 and np.all(np.isfinite(np.asarray(out)))
    np.testing.assert_allclose(out, table.emissivity(np.linspace(0.5, 7.0, 5), 3.0), rtol=1e-5)
    # the table ends are reachable in float32
    assert np.isfinite(float(table.emissivity(jnp.float32(60.0), jnp.float32(20.0))))
    assert np.isfinite(float(table.emissivity(jnp.float32(0.05), jnp.float32(0.1))))


def eqx_jit_emissivity():
    return eqx.filter_jit(lambda tab, e, kt: tab.emissivity(e, kt))


# --- observed spectra ----------------------------------------------------------------------------------------------


def kramers_table(grid: em.BremsGrid = em.BremsGrid(n_e=40, n_kt=10), prefactor: float = 3e-15) -> em.BremsTable:
    """A table with gbar = 1: eps = A exp(-E/kT) / (E sqrt(kT)), integrable in closed form."""
    ones = np.ones((grid.n_e, grid.n_kt))
    return em.BremsTable.from_arrays(grid.energies(), grid.temperatures(), ones, prefactor, 0.3)


@pytest.mark.parametrize("z", [0.0, 0.5, 2.0])
def test_redshifted_photon_flux_exact_for_kramers_spectrum(z):
    """F_i = 1e14 norm / (1+z) int_{E_lo(1+z)}^{E_hi(1+z)} A e^{-E/kT} / (E sqrt kT) dE
    = 1e14 norm A / ((1+z) sqrt(kT)) [E1(E_lo (1+z)/kT) - E1(E_hi (1+z)/kT)]  (XSPEC apec/zbremss convention)."""
    tab = kramers_table()
    kt, norm = 2.5, 1e-3
    edges = np.linspace(0.3, 12.0, 61)
    with jax.enable_x64(True):
        flux = np.asarray(photon_flux(tab, edges, kt, z, norm, n_nodes=8))
    zp1 = 1.0 + z
    exact = 1e14 * norm * tab.prefactor / (zp1 * np.sqrt(kt))
    exact = exact * (exp1(edges[:-1] * zp1 / kt) - exp1(edges[1:] * zp1 / kt))
    np.testing.assert_allclose(flux, exact, rtol=1e-8)


def test_redshift_scaling_and_inverse_square_law(table):
    """Same plasma moved from z = 0 to z: photon counts drop by (1+z) at fixed norm, and with the norm of the same
    emission measure the energy flux is L / (4 pi D_L^2), D_L = D_A (1+z)^2."""
    kt, z = 4.0, 1.0
    rest = np.geomspace(0.1, 40.0, 801)
    with jax.enable_x64(True):
        at_0 = np.asarray(photon_flux(table, rest, kt, 0.0, 1.0))
        at_z = np.asarray(photon_flux(table, rest / (1 + z), kt, z, 1.0))
        np.testing.assert_allclose(at_z, at_0 / (1 + z), rtol=1e-10)
        em_cm3, d_a = 1e67, 3.0e27
        norm = float(apec_norm(em_cm3, d_a, z))
        obs = rest / (1 + z)
        counts = np.asarray(photon_flux(table, obs, kt, z, norm))
    energy_flux = np.sum(counts * np.sqrt(obs[:-1] * obs[1:]))  # keV cm^-2 s^-1 (bins of 0.7%)
    fine = np.geomspace(0.1, 40.0, 20001)
    lum = em_cm3 * np.trapezoid(fine**2 * em.brems_emissivity(fine, kt), np.log(fine))  # keV/s
    d_l = d_a * (1 + z) ** 2
    assert energy_flux == pytest.approx(lum / (4 * np.pi * d_l**2), rel=1e-3)
    assert norm == pytest.approx(1e-14 * em_cm3 / (4 * np.pi * (d_a * (1 + z)) ** 2))


def test_photon_flux_matches_direct_integration_of_do_brems(table):
    edges = np.array([0.5, 1.0, 2.0, 7.0])
    with jax.enable_x64(True):
        flux = np.asarray(photon_flux(table, edges, 3.0, 0.3, 2e-4, n_nodes=12))
    for i in range(3):
        e = np.geomspace(edges[i] * 1.3, edges[i + 1] * 1.3, 4001)
        ref = 1e14 * 2e-4 / 1.3 * np.trapezoid(em.brems_emissivity(e, 3.0), e)
        assert flux[i] == pytest.approx(ref, rel=1e-4)


def test_photon_flux_broadcasts_jits_and_differentiates(table):
    edges = jnp.linspace(0.5, 2.0, 11, dtype=jnp.float32)
    kts = jnp.array([1.0, 3.0, 8.0], dtype=jnp.float32)
    out = photon_flux(table, edges, kts, 0.2, 1e-3)
    assert out.shape == (3, 10) and out.dtype == jnp.float32
    f = jax.jit(lambda kt, z: photon_flux(table, edges, kt, z, 1e-3).sum())
    assert float(f(jnp.float32(3.0), jnp.float32(0.2))) == pytest.approx(float(out[1].sum()), rel=1e-5)
    g_kt, g_z = jax.grad(f, argnums=(0, 1))(jnp.float32(3.0), jnp.float32(0.2))
    assert np.isfinite(float(g_kt)) and float(g_z) < 0  # higher z: fewer photons in a fixed band


def test_traced_values_outside_the_table_raise_when_run(table):
    """Inside jit the values are unknown when traced: the compiled function raises when it runs, not NaN."""
    edges = jnp.linspace(0.5, 2.0, 11, dtype=jnp.float32)
    f = jax.jit(lambda kt, z, norm: photon_flux(table, edges, kt, z, norm).sum())
    assert np.isfinite(float(f(jnp.float32(20.0), jnp.float32(0.2), 1e-3)))  # the table's last knot, in float32
    with pytest.raises(TRACED_ERROR, match=r"kt_kev .*is not allowed: allowed range \[0.1, 20\] keV"):
        f(jnp.float32(30.0), jnp.float32(0.2), 1e-3)
    with pytest.raises(TRACED_ERROR, match=r"z .*is not allowed"):
        f(jnp.float32(3.0), jnp.float32(-0.2), 1e-3)
    with pytest.raises(TRACED_ERROR, match=r"norm .*is not allowed"):
        f(jnp.float32(3.0), jnp.float32(0.2), jnp.float32(np.nan))
    with pytest.raises(TRACED_ERROR, match=r"rest-frame|energy_kev .*is not allowed"):  # edges (1+z) beyond 60 keV
        f(jnp.float32(3.0), jnp.float32(40.0), 1e-3)
    emissivity = eqx.filter_jit(lambda tab, e, kt: tab.emissivity(e, kt))
    with pytest.raises(TRACED_ERROR, match=r"energy_kev .*allowed range \[0.05, 60\] keV"):
        emissivity(table, jnp.float32(70.0), jnp.float32(3.0))
    with pytest.raises(TRACED_ERROR, match=r"kt_kev .*allowed range \[0.1, 20\] keV"):
        jax.jit(jax.grad(lambda kt: table.gaunt_factor(1.0, kt)))(0.05)


# --- errors --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kt, shown", [(-1.0, "-1."), (0.0, "0."), (0.05, "0.05"), (25.0, "25."), (np.nan, "nan")])
def test_temperature_outside_table_raises(table, kt, shown):
    with pytest.raises(ValueError) as err:
        table.emissivity(1.0, kt)
    msg = str(err.value)
    assert "kt_kev" in msg and shown in msg and "allowed range [0.1, 20] keV" in msg
    with pytest.raises(ValueError, match="kt_kev"):
        photon_flux(table, [0.5, 2.0], kt, 0.1, 1.0)


def test_energy_and_redshift_errors(table):
    with pytest.raises(ValueError, match=r"energy_kev = \[100\.0?\] is not allowed: allowed range \[0.05, 60\] keV"):
        table.emissivity([100.0], 2.0)
    with pytest.raises(ValueError, match=r"rest-frame energies .* = \(1.5, 72.0\) .*allowed range \[0.05, 60\] keV"):
        photon_flux(table, [0.25, 12.0], 2.0, 5.0, 1.0)
    with pytest.raises(ValueError, match=r"z = -0.5 is not allowed"):
        photon_flux(table, [0.5, 2.0], 2.0, -0.5, 1.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        photon_flux(table, [2.0, 0.5], 2.0, 0.1, 1.0)
    with pytest.raises(ValueError, match="norm"):
        photon_flux(table, [0.5, 2.0], 2.0, 0.1, -1.0)
    with pytest.raises(ValueError, match="kt_min"):
        em.BremsGrid(kt_min=5.0, kt_max=1.0)


# --- cache ---------------------------------------------------------------------------------------------------------


def test_cache_file_is_written_with_grid_and_version(table, cache):
    (path,) = cache.glob("brems_*.npz")
    with np.load(path) as f:
        assert str(f["pyatomdb_version"]) == table.pyatomdb_version != "unknown"
        np.testing.assert_allclose(f["energy_kev"], em.BremsGrid().energies())
        np.testing.assert_allclose(f["kt_kev"], em.BremsGrid().temperatures())
        assert f["gaunt"].shape == (300, 60)
    assert path.stat().st_size < 300_000  # measured about 150 kB


def test_second_load_reads_the_cache(table, cache, monkeypatch):
    """Once the table is on disk, loading it needs neither the builder nor pyatomdb; use_cache=False builds anew."""

    def refuse(*args, **kwargs):
        raise AssertionError("the table was computed instead of read from the cache")

    monkeypatch.setattr(em, "build_brems_table", refuse)
    monkeypatch.setattr(em, "brems_emissivity", refuse)
    monkeypatch.setattr(em, "_pyatomdb", refuse)
    start = time.perf_counter()
    again = em.load_brems_table(cache=cache)
    assert time.perf_counter() - start < 1.0
    np.testing.assert_array_equal(again.gaunt, table.gaunt)
    assert again.prefactor == table.prefactor and again.kt_range == table.kt_range
    with pytest.raises(AssertionError, match="instead of read"):
        em.load_brems_table(cache=cache, use_cache=False)


def test_corrupted_or_foreign_cache_is_rebuilt(table, tmp_path):
    first = em.load_brems_table(cache=tmp_path)
    (path,) = tmp_path.glob("brems_*.npz")
    path.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="unusable"):
        rebuilt = em.load_brems_table(cache=tmp_path)
    np.testing.assert_array_equal(rebuilt.gaunt, first.gaunt)
    with np.load(path) as f:  # the file was replaced by a good one
        assert f["gaunt"].shape == first.gaunt.shape
    with np.load(path) as f:
        fields = dict(f)
    fields["key"] = np.str_("someone-else")
    np.savez(path, **fields)
    with pytest.warns(UserWarning, match="cache key"):
        em.load_brems_table(cache=tmp_path)


def test_rebuild_and_settings_change_the_file(tmp_path, monkeypatch):
    em.load_brems_table(cache=tmp_path)
    calls = []
    build = em.build_brems_table
    monkeypatch.setattr(em, "build_brems_table", lambda *a, **k: calls.append(1) or build(*a, **k))
    em.load_brems_table(cache=tmp_path, rebuild=True)
    assert calls == [1]
    solar = em.load_brems_table(metallicity=1.0, cache=tmp_path)
    assert calls == [1, 1] and len(list(tmp_path.glob("brems_*.npz"))) == 2
    assert solar.metallicity == 1.0
    em.load_brems_table(cache=tmp_path, use_cache=False)
    assert len(calls) == 3 and len(list(tmp_path.glob("brems_*.npz"))) == 2
