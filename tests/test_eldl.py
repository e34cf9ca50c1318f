"""The extended LDL painter (emulators.eldl.eldl): conditioning on theta_sim, the redshift interpolation of the T
model, the painter protocol, and gradients of a box's X-ray count rate with respect to theta_sim (issue 16)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from emulators.eldl.eldl import ELDL, H, OMEGA_B
from emulators.eldl.ldl import LDLParams, ldl
from xcosmo.cosmology import Cosmology
from xcosmo.nbody import Box, PMSettings, evolve
from xcosmo.painting import mean_electron_density
from xcosmo.params import Params
from xcosmo.xray import voxel_count_rates

N = 16
BOX = Box((N, N, N), 0.39)
ZS = (0.1, 0.21, 0.54)


@pytest.fixture(scope="module")
def dx():
    return evolve(Cosmology.from_params(Params.fiducial()), jax.random.key(5), BOX, 1 / 1.2, PMSettings(z_start=19.0, n_steps=6))[0]


def _perturbed(model, scale=0.05, seed=0):
    """The conditionings' last layers set to small random values (an untrained one is zero), and a hotter,
    denser-biased base, so that theta_sim and z change the painted fields."""
    key = jax.random.key(seed)

    def randomise(c, k):
        last = c.mlp.layers[-1]
        k1, k2 = jax.random.split(k)
        return eqx.tree_at(lambda m: (m.mlp.layers[-1].weight, m.mlp.layers[-1].bias), c,
                           (scale * jax.random.normal(k1, last.weight.shape), scale * jax.random.normal(k2, last.bias.shape)))  # fmt: skip

    keys = jax.random.split(key, 1 + len(model.t_shifts))
    t_base = eqx.tree_at(lambda p: (p.ln_b1, p.mu), model.t, (jnp.asarray(0.7), jnp.asarray(0.6)))
    return eqx.tree_at(lambda m: (m.ne_shift, m.t_shifts, m.t), model,
                       (randomise(model.ne_shift, keys[0]), tuple(randomise(c, k) for c, k in zip(model.t_shifts, keys[1:])), t_base))  # fmt: skip


def test_an_untrained_eldl_paints_the_base_models_whatever_the_parameters(dx):
    model = ELDL.untrained(ZS, jax.random.key(0))
    theta = jnp.asarray([0.4, 0.9, 2.0, 0.7, 3.0, 1.5])
    np.testing.assert_array_equal(ravel_pytree(model.ne_params(theta))[0], ravel_pytree(LDLParams.identity())[0])
    ne, kt = model(dx, BOX, 0.3, Params.from_array(theta))
    assert float(ne.mean()) == pytest.approx(float(mean_electron_density(OMEGA_B, H)), rel=1e-4)  # n_e traces mass
    np.testing.assert_allclose(kt, ldl(LDLParams.identity(), dx), rtol=1e-6)


def test_the_temperature_model_between_two_redshifts_lies_between_them(dx):
    """delta Theta is interpolated linearly in z; for conditionings that move Theta a little (the output then nearly
    linear in Theta) the painted T at z = 0.3 lies between those at 0.21 and 0.54."""
    model = _perturbed(ELDL.untrained(ZS, jax.random.key(1)), scale=0.005)
    theta = Params.fiducial().to_array()
    at = {z: ravel_pytree(model.t_params(theta, z))[0] for z in (0.21, 0.3, 0.54)}
    w = (0.3 - 0.21) / (0.54 - 0.21)
    np.testing.assert_allclose(at[0.3], (1 - w) * at[0.21] + w * at[0.54], rtol=1e-5, atol=1e-7)
    kt = {z: float(jnp.sum(model.fields(dx, theta, z)[1])) for z in (0.21, 0.3, 0.54)}
    assert min(kt[0.21], kt[0.54]) <= kt[0.3] <= max(kt[0.21], kt[0.54]) and kt[0.21] != kt[0.54]


def test_the_temperature_model_is_refused_outside_its_redshifts(dx):
    model = ELDL.untrained(ZS, jax.random.key(1))
    with pytest.raises(Exception, match="trained at z = 0.1-0.54 only"):
        jax.block_until_ready(model(dx, BOX, 0.8, Params.fiducial()))
    with pytest.raises(ValueError, match="t_redshifts is empty"):
        ELDL.untrained((), jax.random.key(1))


def test_the_box_count_rate_has_gradients_with_respect_to_theta_sim(dx):
    """d(total [0.5-2] keV count rate of the box)/d theta_sim by autodiff through the painter and the EPIC count
    rates, against centred finite differences, for Omega_m (through the conditioning and the distances) and A_SN1."""
    model = _perturbed(ELDL.untrained(ZS, jax.random.key(2)), scale=0.1, seed=3)
    z = 0.3

    def total_cr(theta):
        params = Params.from_array(theta)
        ne, kt = model(dx, BOX, z, params)
        soft, hard = voxel_count_rates(Cosmology.from_params(params), ne, kt, z, BOX.voxel_mpc_h)
        return jnp.sum(soft + hard)

    theta = jnp.asarray([0.3, 0.8, 1.5, 1.0, 1.0, 1.0], jnp.float32)
    grad = jax.grad(total_cr)(theta)
    for i, h in ((0, 0.01), (2, 0.05)):
        numeric = (float(total_cr(theta.at[i].add(h))) - float(total_cr(theta.at[i].add(-h)))) / (2 * h)
        assert float(grad[i]) == pytest.approx(numeric, rel=0.05), i
        assert numeric != 0.0


def test_weights_round_trip_and_refuse_what_does_not_match(tmp_path):
    import json

    from emulators.eldl.weights import load_eldl, save_eldl

    model = _perturbed(ELDL.untrained(ZS, jax.random.key(7)))
    path = save_eldl(model, tmp_path / "w", voxel_mpc_h=0.39, metadata={"training": {"source": "synthetic"}})
    loaded, meta = load_eldl(path, voxel_mpc_h=0.39)
    assert meta["training"] == {"source": "synthetic"} and meta["structure"]["t_redshifts"] == list(ZS)
    same = [np.array_equal(a, b) for a, b in zip(jax.tree.leaves(eqx.filter(model, eqx.is_array)),
                                                 jax.tree.leaves(eqx.filter(loaded, eqx.is_array)))]  # fmt: skip
    assert same and all(same)
    with pytest.raises(ValueError, match="trained at 0.39 Mpc/h voxels, which is not allowed for boxes of 0.2"):
        load_eldl(path, voxel_mpc_h=0.2)
    meta_path = path.with_suffix(".json")
    json.dump(meta | {"format_version": 0}, meta_path.open("w"))
    with pytest.raises(ValueError, match="format_version = 0, which is not allowed"):
        load_eldl(path)
    json.dump({k: v for k, v in meta.items() if k != "sha256"}, meta_path.open("w"))
    with pytest.raises(ValueError, match=r"lacks \['sha256'\]"):
        load_eldl(path)
    json.dump(meta, meta_path.open("w"))
    path.write_bytes(path.read_bytes()[:-10])  # truncated
    with pytest.raises(ValueError, match="do not match their metadata's SHA-256"):
        load_eldl(path)
    with pytest.raises(FileNotFoundError, match="eLDL weights .*nothing.eqx' not found"):
        load_eldl(tmp_path / "nothing")


def test_the_shipped_weights_load_with_their_provenance_and_paint(dx):
    """ELDL.pretrained(): the package's weights, made by the repository's commands from the default synthetic suite,
    at 0.39 Mpc/h, with the T model over the training redshifts; they paint finite, positive fields."""
    from emulators.data.suite import TRAINING_REDSHIFTS
    from emulators.eldl.weights import PRETRAINED, load_eldl

    model = ELDL.pretrained()
    _, meta = load_eldl(PRETRAINED)
    assert model.voxel_mpc_h == 0.39 and model.t_redshifts == tuple(TRAINING_REDSHIFTS)
    assert meta["training"]["source"] == "synthetic" and meta["command"].startswith("xcosmo train-ldl")
    assert set(meta["validation"]["summary"]) >= {"eLDL", "power law", "ceiling"}
    ne, kt = model(dx, BOX, 0.3, Params.fiducial())
    assert bool(jnp.isfinite(ne).all() & jnp.isfinite(kt).all()) and float(ne.max()) > 0 and float(kt.max()) > 0
