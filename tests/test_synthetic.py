"""One synthetic training box end to end (emulators.data.synthetic): shapes, determinism, baryons, hot haloes."""

import jax
import numpy as np
import pytest

from emulators.data.synthetic import SuiteSettings, make_box
from xcosmo import Params
from xcosmo.nbody import PMSettings

SMALL = SuiteSettings(pm=PMSettings(z_start=19.0, n_steps=6),
                      accurate=PMSettings(z_start=19.0, n_steps=10, force_mesh_factor=2), min_members=10)  # fmt: skip


@pytest.fixture(scope="module")
def samples():
    return make_box(Params.fiducial(), jax.random.key(2), 24, 1.5, [0.21, 0.54], SMALL)


def test_a_box_gives_one_sample_per_redshift_with_its_input_and_targets(samples):
    assert [s.z for s in samples] == [0.21, 0.54]
    for s in samples:
        assert s.dx.shape == (24, 24, 24, 3) and s.n_e.shape == s.kt.shape == (24, 24, 24)
        assert np.all(np.isfinite(s.n_e)) and np.all(s.n_e > 0) and np.all(s.kt > 0)
        assert s.n_haloes > 3
        np.testing.assert_allclose(s.theta, [0.3, 0.8, 1, 1, 1, 1])
    # mean electron density: the box's baryons, f_b rho_crit Omega_m / (mu_e m_p) less the stars, comoving
    from emulators.data.gas_profiles import MU_E
    from xcosmo.constants import M_PROTON_G, MPC_CM, MSUN_G, RHO_CRIT_0

    h = 0.6766
    all_baryons = 0.04897 * RHO_CRIT_0 * h**2 * MSUN_G / MPC_CM**3 / (MU_E * M_PROTON_G)
    assert 0.8 * all_baryons < samples[0].n_e.mean() <= all_baryons * 1.001
    # haloes' gas is far hotter than the photo-heated IGM (1e4 K = 8.6e-4 keV), and denser
    igm_kt = 8.617e-8 * 1e4
    assert samples[0].kt.max() > 20 * igm_kt and samples[0].n_e.max() > 10 * samples[0].n_e.mean()


def test_same_key_same_sample():
    a = make_box(Params.fiducial(), jax.random.key(5), 16, 1.5, [0.3], SMALL)[0]
    b = make_box(Params.fiducial(), jax.random.key(5), 16, 1.5, [0.3], SMALL)[0]
    np.testing.assert_array_equal(a.n_e, b.n_e)
    np.testing.assert_array_equal(a.dx, b.dx)
