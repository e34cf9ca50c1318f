"""Cloud-in-cell painting and reading for any particle count (xcosmo.cic)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xcosmo import cic


def test_paint_conserves_weight_and_read_is_its_adjoint():
    key1, key2, key3 = jax.random.split(jax.random.key(0), 3)
    pos = jax.random.uniform(key1, (1000, 3), maxval=jnp.array([8.0, 6.0, 10.0]))
    w = jax.random.uniform(key2, (1000,))
    mesh = cic.paint((8, 6, 10), pos, w)
    assert float(mesh.sum()) == pytest.approx(float(w.sum()), rel=1e-5)
    g = jax.random.normal(key3, (8, 6, 10))
    assert float(jnp.vdot(mesh, g)) == pytest.approx(float(jnp.vdot(w, cic.read(g, pos))), rel=1e-4)


def test_a_particle_on_a_node_and_between_nodes():
    mesh = cic.paint((4, 4, 4), jnp.array([[1.0, 2.0, 3.0], [3.5, 0.0, 0.0]]), 1.0)
    assert float(mesh[1, 2, 3]) == 1.0
    assert float(mesh[3, 0, 0]) == 0.5 and float(mesh[0, 0, 0]) == 0.5  # wraps across the periodic boundary
    field = jnp.arange(64.0).reshape(4, 4, 4)
    np.testing.assert_allclose(cic.read(field, jnp.array([[1.0, 2.0, 3.0], [1.5, 2.0, 3.0]])), [27.0, 35.0])  # field = 16 i + 4 j + k


def test_a_vector_field_is_read_in_one_go_as_its_components_one_by_one():
    """Reading a (nx, ny, nz, 3) mesh gives the three scalar reads, for positions anywhere (wrapped periodically:
    the indices are promised in bounds to the scatter and gather, so they must be)."""
    key1, key2 = jax.random.split(jax.random.key(1))
    pos = jax.random.uniform(key1, (500, 3), minval=-7.0, maxval=17.0)
    field = jax.random.normal(key2, (5, 6, 7, 3))
    joint = cic.read(field, pos)
    assert joint.shape == (500, 3)
    for c in range(3):
        np.testing.assert_allclose(joint[:, c], cic.read(field[..., c], pos), rtol=1e-6, atol=1e-6)
    wrapped = jnp.mod(pos, jnp.array([5.0, 6.0, 7.0]))
    np.testing.assert_allclose(joint, cic.read(field, wrapped), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(cic.paint((5, 6, 7), pos), cic.paint((5, 6, 7), wrapped), atol=1e-4)


def test_the_density_of_displaced_particles_is_jaxpms():
    """:func:`xcosmo.nbody.density` paints as jaxpm's ``cic_paint_dx`` does, on a mesh small enough for jaxpm."""
    from jaxpm.painting import cic_paint_dx

    from xcosmo.nbody import density

    dx = 3.0 * jax.random.normal(jax.random.key(1), (12, 10, 8, 3))
    np.testing.assert_allclose(density(dx), cic_paint_dx(dx), atol=1e-5)
