"""Band count rates, fluxes and voxel emission (xcosmo.xray.countrates)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xcosmo.constants import MPC_CM
from xcosmo.cosmology import comoving_distance, make_cosmology
from xcosmo.xray import (
    BremsTable,
    Response,
    apec_norm,
    band_count_rates,
    band_energy_flux,
    bolometric_emissivity,
    count_rate_to_flux,
    countrates,
    emission,
    exact_band_rates,
    flux_to_luminosity,
    load_brems_table,
    luminosity_to_norm,
    voxel_count_rates,
)
from xcosmo.xray.countrates import CountRateTable, default_table, electrons_per_hydrogen

# A check attached to a traced value (equinox.error_if) raises when the compiled function runs: an EquinoxRuntimeError
# under eqx.filter_jit; under jax.jit the callback's failure, a JaxRuntimeError or a ValueError depending on the path.
# The tests match the message.
TRACED_ERROR = Exception
KT = np.array([1.0, 2.0, 4.0, 8.0])
Z = np.array([0.1, 0.3, 0.5])


@pytest.fixture(scope="module")
def table():
    return default_table()


def test_table_matches_exact_fold(table):
    kt = np.geomspace(0.12, 12.0, 23)  # off the table's knots
    z = np.linspace(0.03, 1.93, 17)
    with jax.enable_x64(True):
        exact = np.asarray(exact_band_rates(kt[:, None], z[None, :]))
        tab = np.asarray(table(kt[:, None], z[None, :]))
    np.testing.assert_allclose(tab, exact, rtol=1e-3)


def test_band_rates_of_a_kramers_spectrum_through_a_diagonal_response_are_exact(tmp_path):
    """Gaunt factor 1 (Kramers) and a flat 100 cm^2 diagonal response: the band rates have a closed form,
    R = A 1e14 norm P / (sqrt(kT) (1+z)) [E1(E_lo (1+z)/kT) - E1(E_hi (1+z)/kT)], E1 the exponential integral
    (XSPEC's convention: rest-frame spectrum on E (1+z), photon counts divided by (1+z))."""
    from scipy.special import exp1

    energy = np.geomspace(0.05, 60.0, 300)
    kt_grid = np.geomspace(0.1, 20.0, 60)
    prefactor = 1e-15
    kramers = BremsTable.from_arrays(energy, kt_grid, np.ones((300, 60)), prefactor, 0.3)
    edges = np.linspace(0.3, 3.0, 2701)  # 1 eV bins; band edges fall on bin edges
    resp = Response(edges[:-1], edges[1:], edges[:-1], edges[1:], np.diag(np.full(2700, 100.0)), name="flat")
    norm = 2e-3
    with jax.enable_x64(True):
        for kt in (1.0, 5.0):
            for z in (0.0, 0.4):
                got = np.asarray(exact_band_rates(kt, z, norm, resp, kramers))
                for b, (lo, hi) in enumerate(((0.5, 1.0), (1.0, 2.0))):
                    ref = 100.0 * 1e14 * norm * prefactor / (math.sqrt(kt) * (1 + z)) * (
                        exp1(lo * (1 + z) / kt) - exp1(hi * (1 + z) / kt)
                    )
                    assert got[b] == pytest.approx(ref, rel=1e-7), (kt, z, b)


def test_hardness_ratio_rises_with_temperature_at_fixed_redshift():
    kt = np.geomspace(0.5, 15.0, 30)
    for z in Z:
        soft, hard = band_count_rates(kt, z)
        assert np.all(np.diff(np.asarray(hard / soft)) > 0), z


def test_fiducial_numbers_are_sensible():
    # A 1e44 erg/s (bolometric), 3 keV cluster at z = 0.3 gives a few 0.1 c/s in pn+2MOS [0.5-2] keV, XXL C1-like.
    cosmo = make_cosmology(0.3, 0.8)
    with jax.enable_x64(True):
        norm = luminosity_to_norm(cosmo, 1e44, 3.0, 0.3)
        soft, hard = band_count_rates(3.0, 0.3, norm)
        cr = float(soft + hard)
        flux = float(count_rate_to_flux(cr, 3.0, 0.3))
    assert 0.05 < cr < 1.0
    # energy-to-count conversion of EPIC pn+2MOS in [0.5-2] keV: ~1 count/s per 1e-12 erg/s/cm^2 (XMM UHB order)
    assert 0.5e-12 < flux / cr < 2e-12


def test_norm_scaling_dtype_and_gradient():
    soft, hard = band_count_rates(KT, 0.3, 2.0)
    soft1, hard1 = band_count_rates(KT, 0.3, 1.0)
    np.testing.assert_allclose(soft, 2 * soft1, rtol=1e-6)
    assert soft.dtype == jnp.float32
    with jax.enable_x64(True):
        f = lambda kt, z: jnp.sum(jnp.stack(band_count_rates(kt, z)))  # noqa: E731
        g = jax.grad(f, argnums=(0, 1))(3.0, 0.3)
        h = 1e-5
        assert float(g[0]) == pytest.approx(float(f(3.0 + h, 0.3) - f(3.0 - h, 0.3)) / (2 * h), rel=1e-4)
        assert float(g[1]) == pytest.approx(float(f(3.0, 0.3 + h) - f(3.0, 0.3 - h)) / (2 * h), rel=1e-4)


def test_bolometric_emissivity_against_textbook():
    """Lambda = 1.4256e-27 sqrt(T) g_B sum_Z (n_Z/n_H) Z^2 erg cm^3/s (Rybicki & Lightman 5.15b), g_B in 1.1-1.5."""
    from xcosmo.xray.emission import abundances

    ab = abundances(0.3)
    z2 = float(np.sum(ab * np.arange(1, ab.size + 1) ** 2))
    for kt in (1.0, 3.0, 8.0):
        t_k = kt / 8.617333262e-8
        g_b = float(bolometric_emissivity(kt)) / (1.4256e-27 * math.sqrt(t_k) * z2)
        assert 1.1 < g_b < 1.5, (kt, g_b)


def test_energy_flux_is_rest_band_luminosity_over_4_pi_dl2():
    """F(observer band [a, b]/(1+z)) = L(rest band [a, b]) / (4 pi D_L^2), with L = EM int E eps dE integrated here
    on a fine grid and EM = norm 4 pi [D_A (1+z)]^2 / 1e-14 from astropy's distances."""
    from astropy.cosmology import FlatLambdaCDM

    table = load_brems_table()
    ap = FlatLambdaCDM(H0=67.66, Om0=0.3, Tcmb0=0.0)
    a, b = 0.3, 20.0
    for kt, z in ((3.0, 0.1), (6.0, 0.4)):
        d_a = ap.angular_diameter_distance(z).to("cm").value
        d_l = ap.luminosity_distance(z).to("cm").value
        norm = 1e-3
        em = norm * 4 * math.pi * (d_a * (1 + z)) ** 2 / 1e-14
        e = np.geomspace(a, b, 200001)
        with jax.enable_x64(True):
            eps = np.asarray(table.emissivity(e, kt))
            f = float(band_energy_flux(kt, z, norm, band=(a / (1 + z), b / (1 + z))))
        l_rest = em * np.trapezoid(e * eps, e) * 1.602176634e-9
        assert f == pytest.approx(l_rest / (4 * math.pi * d_l**2), rel=1e-5)


def test_luminosity_roundtrip():
    cosmo = make_cosmology(0.3, 0.8)
    with jax.enable_x64(True):
        norm = luminosity_to_norm(cosmo, 1e44, 4.0, 0.3)
        # apec norm back to L_bol: EM Lambda with EM from the norm definition
        from astropy.cosmology import FlatLambdaCDM

        d_a = FlatLambdaCDM(H0=67.66, Om0=0.3, Tcmb0=0.0).angular_diameter_distance(0.3).to("cm").value
        em = float(norm) * 4 * math.pi * (d_a * 1.3) ** 2 / 1e-14
        assert em * float(bolometric_emissivity(4.0)) == pytest.approx(1e44, rel=1e-6)
        assert float(flux_to_luminosity(cosmo, 1e-13, 0.3)) > 0


def test_voxel_rates_equal_band_rates_of_their_emission_measure():
    cosmo = make_cosmology(0.3, 0.8)
    z, side = 0.3, 0.39
    n_e = jnp.array([1e-5, 1e-4, 1e-3, 3e-3], dtype=jnp.float32)
    kt = jnp.array([0.5, 1.5, 4.0, 9.0], dtype=jnp.float32)
    soft, hard = voxel_count_rates(cosmo, n_e, kt, z, side)
    assert soft.dtype == jnp.float32
    with jax.enable_x64(True):
        h = cosmo.h
        chi_cm = float(comoving_distance(cosmo, z)) / h * MPC_CM
        v_phys = (side / h * MPC_CM / (1 + z)) ** 3
        n_phys = np.asarray(n_e, dtype=float) * (1 + z) ** 3
        em = n_phys * n_phys / electrons_per_hydrogen() * v_phys
        ref_soft, ref_hard = band_count_rates(np.asarray(kt, float), z, apec_norm(em, chi_cm / (1 + z), z))
    np.testing.assert_allclose(soft, ref_soft, rtol=1e-3)  # the table's accuracy: 1-D and 2-D paths differ
    np.testing.assert_allclose(hard, ref_hard, rtol=1e-3)


def test_voxel_cold_gas_is_continuous_and_faint():
    cosmo = make_cosmology(0.3, 0.8)
    kt = jnp.array([0.01, 0.05, 0.09999, 0.1, 0.10001, 0.2], dtype=jnp.float32)
    soft, hard = voxel_count_rates(cosmo, jnp.full(6, 1e-3), kt, 0.2, 0.39)
    s = np.asarray(soft)
    assert np.all(np.diff(s) > 0) and s[0] < 1e-12 * s[-1]
    # d ln R / d ln kT ~ E/kT ~ 6 here, so a 1e-4 step in kT moves R by ~6e-4 on either side of the table edge
    assert s[2] == pytest.approx(s[3], rel=2e-3) and s[4] == pytest.approx(s[3], rel=2e-3)


def test_voxel_rates_jit_with_traced_redshift():
    cosmo = make_cosmology(0.3, 0.8)
    n_e, kt = jnp.full((4, 4), 1e-3), jnp.full((4, 4), 3.0)
    f = jax.jit(lambda z: voxel_count_rates(cosmo, n_e, kt, z, 0.39)[0].sum())
    direct = float(voxel_count_rates(cosmo, n_e, kt, 0.25, 0.39)[0].sum())
    assert float(f(0.25)) == pytest.approx(direct, rel=1e-5)
    assert float(f(0.45)) < float(f(0.25))  # farther is fainter


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: band_count_rates(-1.0, 0.3), "kt_kev = -1.0"),
        (lambda: band_count_rates(50.0, 0.3), "kt_kev = 50.0"),
        (lambda: band_count_rates(3.0, 2.5), "z = 2.5"),
        (lambda: band_count_rates(3.0, float("nan")), "z = nan"),
        (lambda: band_count_rates(3.0, 0.3, -1.0), "norm = -1.0"),
        (lambda: band_energy_flux(3.0, 0.3, band=(2.0, 0.5)), "band"),
        (lambda: voxel_count_rates(make_cosmology(0.3, 0.8), [1e-3], [3.0], 0.3, -0.39), "voxel_mpc_h = -0.39"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_traced_values_outside_the_tables_raise_when_run(table):
    rates = jax.jit(lambda kt, z: table(kt, z))
    assert np.all(np.isfinite(np.asarray(rates(jnp.float32(20.0), jnp.float32(2.0)))))  # the table's corner
    with pytest.raises(TRACED_ERROR, match=r"kt_kev .*is not allowed: allowed range \[0.1, 20\] keV"):
        rates(jnp.float32(50.0), jnp.float32(0.3))
    with pytest.raises(TRACED_ERROR, match=r"\bz\b.*is not allowed: allowed range \[0, 2\]"):
        rates(jnp.float32(3.0), jnp.float32(2.5))
    cosmo = make_cosmology(0.3, 0.8)
    voxels = jax.jit(lambda z: voxel_count_rates(cosmo, jnp.full(4, 1e-3), jnp.full(4, 3.0), z, 0.39)[0])
    with pytest.raises(TRACED_ERROR, match=r"\bz\b.*is not allowed"):
        voxels(jnp.float32(-0.1))
    # cold voxels are not an error: below the table kT follows the bremsstrahlung asymptote (clipped at 1e-3 keV)
    cold = voxel_count_rates(cosmo, jnp.full(2, 1e-3), jnp.array([1e-4, 0.0]), 0.3, 0.39)[0]
    assert np.all(np.isfinite(np.asarray(cold)))


def diagonal_response(scale: float) -> Response:
    """A flat diagonal response of 100 * scale cm^2 on 20 eV bins, 0.3-3 keV (always the same name)."""
    edges = np.linspace(0.3, 3.0, 136)
    return Response(edges[:-1], edges[1:], edges[:-1], edges[1:], np.diag(np.full(135, 100.0 * scale)), name="flat")


def test_count_rate_tables_are_cached_by_response_content(monkeypatch):
    """Distinct responses never share a table, even when Python reuses an object's id or the names agree; equal
    content is built once."""
    build = CountRateTable.build
    built = []
    monkeypatch.setattr(countrates, "_TABLES", {})
    counting = classmethod(lambda cls, r, *a, **k: built.append(r) or build(r, *a, **k))
    monkeypatch.setattr(CountRateTable, "build", counting)
    soft = []
    for scale in (1.0, 2.0, 3.0):
        resp = diagonal_response(scale)  # each one freed before the next: ids may repeat
        soft.append(float(band_count_rates(3.0, 0.3, 1e-3, resp)[0]))
        del resp
    np.testing.assert_allclose(soft, [soft[0], 2 * soft[0], 3 * soft[0]], rtol=1e-6)
    assert len(built) == 3
    again = diagonal_response(2.0)  # a new object with the content of the second
    assert float(band_count_rates(3.0, 0.3, 1e-3, again)[0]) == soft[1]
    assert len(built) == 3
    assert again.digest == diagonal_response(2.0).digest != diagonal_response(1.0).digest


def test_brems_table_is_read_from_the_default_cache_folder(monkeypatch):
    """load_brems_table() without arguments reads the file in cache_dir() instead of computing the table again."""
    a = load_brems_table()
    assert len(list(emission.cache_dir().glob("brems_*.npz"))) >= 1

    def refuse(*args, **kwargs):
        raise AssertionError("the table was computed instead of read from the cache")

    monkeypatch.setattr(emission, "build_brems_table", refuse)
    monkeypatch.setattr(emission, "_pyatomdb", refuse)
    b = load_brems_table()
    np.testing.assert_array_equal(np.asarray(a.gaunt), np.asarray(b.gaunt))


def test_a_response_given_by_name_is_a_type_error():
    from xcosmo.xray.countrates import band_count_rates

    with pytest.raises(TypeError, match="response = 'pn' is not allowed: expected an xcosmo.xray.Response"):
        band_count_rates(3.0, 0.2, response="pn")
