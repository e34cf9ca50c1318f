"""Tests of emulators.scaling.measure and .simulator: cluster catalogues of flat volumes at design points, and their
campaign.

The volumes here are small (64 x 64 x 32 voxels of 0.39 Mpc/h, 10 PM steps), so the halo threshold is lowered to
20 rho_c where a box this small holds few 200 rho_c voxels."""

from __future__ import annotations

import numpy as np
import pytest

from emulators.scaling.measure import CATALOGUE_COLUMNS, Volumes, measure_clusters
from xcosmo.nbody import PMSettings
from xcosmo.painting import PowerLawPainter
from xcosmo.params import Params

FIDUCIAL = Params.fiducial()
SMALL = Volumes(mesh_shape=(64, 64, 32), n_boxes=2, pm=PMSettings(z_start=19.0, n_steps=10), threshold=20.0)


@pytest.fixture(scope="module")
def catalogue():
    return measure_clusters(FIDUCIAL, 0.3, 7, SMALL, PowerLawPainter())


def test_catalogue_holds_every_voxel_above_the_threshold_once(catalogue):
    """Every voxel above the threshold lies behind a pixel of some mask (the map is the maximum along the line of
    sight), so the haloes' masses add up to the mass of all those voxels, evolved here again independently."""
    import jax

    from xcosmo.constants import RHO_CRIT_0
    from xcosmo.cosmology import Cosmology, efunc
    from xcosmo.nbody import density, evolve

    cosmo = Cosmology.from_params(FIDUCIAL)
    total = 0.0
    for b in range(SMALL.n_boxes):
        dx, _ = evolve(cosmo, jax.random.fold_in(jax.random.key(7), b), SMALL.box, 1 / 1.3, SMALL.pm)
        rho = np.asarray(density(dx), np.float64)
        rho_c = rho * float(cosmo.omega_m) * 1.3**3 / float(efunc(cosmo, 0.3)) ** 2
        total += (rho[rho_c >= 20.0] * float(cosmo.omega_m) * RHO_CRIT_0 * 0.39**3).sum()
    assert catalogue.shape[1] == len(CATALOGUE_COLUMNS) and len(catalogue) > 20
    assert catalogue[:, 0].sum() == pytest.approx(total, rel=1e-4)
    assert np.all(catalogue[:, 1:] > 0)


def test_catalogue_depends_on_the_seed_only_through_the_initial_conditions(catalogue):
    again = measure_clusters(FIDUCIAL, 0.3, 7, SMALL, PowerLawPainter())
    np.testing.assert_array_equal(again, catalogue)
    other = measure_clusters(FIDUCIAL, 0.3, 8, SMALL, PowerLawPainter())
    assert len(other) != len(catalogue) or not np.allclose(other, catalogue)


def test_count_rates_fall_with_redshift_as_the_flux_does(catalogue):
    """The same haloes at a higher redshift (same initial conditions, so nearly the same masses) are fainter."""
    later = measure_clusters(FIDUCIAL, 0.5, 7, SMALL, PowerLawPainter())
    assert np.median(later[:, 1] + later[:, 2]) < np.median(catalogue[:, 1] + catalogue[:, 2])


def test_volumes_round_trip_and_refuse_bad_values():
    assert Volumes.from_dict(SMALL.as_dict()) == SMALL
    assert SMALL.axis == 2 and Volumes(mesh_shape=(16, 8, 16)).axis == 1
    with pytest.raises(ValueError, match="n_boxes"):
        Volumes(n_boxes=0)
    with pytest.raises(ValueError, match="mesh_shape"):
        Volumes(mesh_shape=(64, 64))
    with pytest.raises(ValueError, match="z = 0"):
        measure_clusters(FIDUCIAL, 0.0, 0, SMALL, PowerLawPainter())


def test_scaling_simulator_pads_its_catalogue_and_maps_the_unit_cube():
    from emulators.scaling.simulator import Z_RANGE, ScalingSimulator

    sim = ScalingSimulator(SMALL, "power-law")
    assert ScalingSimulator.from_spec(sim.spec()) == sim
    u = np.random.default_rng(0).uniform(size=(5, 7))
    theta_z = sim.from_unit(u)
    assert np.all((theta_z[:, -1] >= Z_RANGE[0]) & (theta_z[:, -1] <= Z_RANGE[1]))
    np.testing.assert_allclose(sim.to_unit(theta_z), u, atol=1e-6)
    out = sim(np.r_[FIDUCIAL.to_array(), 0.3], 7)
    assert out.xod.shape == sim.output_shape
    kept = out.xod[: out.n_clusters]
    assert np.all(np.isfinite(kept)) and np.all(np.isnan(out.xod[out.n_clusters :]))
    assert np.all(kept[:, 0] >= 1e12)
    with pytest.raises(ValueError, match="preset"):
        ScalingSimulator.named("laptop")
