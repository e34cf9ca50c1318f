"""Particle-mesh boxes (xcosmo.nbody) against linear theory, with growth factors from colossus (an independent code).

Conventions used below:

- "same-seed ratio": P_PM(k) / (P_IC(k) D(z)^2) where P_IC is the power of the very linear field that seeded the run.
  Cosmic variance cancels mode by mode, so what is left is the PM transfer function plus the scatter of the non-linear
  mode coupling, which is small even for the handful of modes a test box has at k <= 0.06 h/Mpc.
- "direct ratio": P_PM(k) / (P_lin(k) D(z)^2). It carries the full cosmic variance of the few large-scale modes:
  for a Gaussian field each independent complex mode has |delta_k|^2 / P(k) ~ Exp(1), so the mean over M independent
  modes (half the modes of the full FFT, times the number of seeds) scatters by 1/sqrt(M). Its tolerance is the 10%
  of the acceptance criterion plus 3 of those sigmas.

What limits the large-scale accuracy of these boxes (measured while writing these tests, see also the plane-wave
test): jaxpm's force is CIC-painted, FFT-solved with a 4th-order finite-difference gradient and CIC-read, without
deconvolution, so a mode of k * voxel = w (radians per voxel) feels a force weaker by about w^2 / 6, and grows
like a^(1 - 0.6 w^2/6) instead of a: at w = 0.24 (k = 0.06 h/Mpc in 4 Mpc/h voxels) the power from z = 99 is ~5% low,
on top of the non-linear damping (SPT P_13, about -(61/105) k^2 sigma_v^2 ~ -4% at k = 0.05, z = 0.3) that a coarse
PM box does not compensate by forming haloes. The seed-averaged same-seed ratio at k <= 0.06 is 0.92-0.97 in 3 Mpc/h
voxels but drops to ~0.90 at k = 0.057 in 4-5 Mpc/h voxels, so the acceptance boxes here use 3 Mpc/h voxels.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xcosmo import nbody
from xcosmo.cosmology import growth_factor, linear_power, make_cosmology, to_jax_cosmo
from xcosmo.precision import float64

OMEGA_M, SIGMA_8, H, OMEGA_B, N_S = 0.3, 0.8, 0.6766, 0.04897, 0.9665
Z_FINAL = 0.3
K_LARGE = 0.06  # h/Mpc: "large scales" of the acceptance criterion
ACCEPT = 0.10  # 10% acceptance on large scales


@pytest.fixture(scope="module")
def cosmo():
    return make_cosmology(OMEGA_M, SIGMA_8, h=H, omega_b=OMEGA_B, n_s=N_S)


@pytest.fixture(scope="module")
def growth():
    """D(z), D(0) = 1, from colossus (flat LCDM without radiation, like jaxpm); xcosmo's if colossus is absent."""
    try:
        from colossus.cosmology import cosmology
    except ImportError:  # pragma: no cover - colossus is in the test extras
        c = make_cosmology(OMEGA_M, SIGMA_8, h=H, omega_b=OMEGA_B, n_s=N_S)
        return lambda z: float(float64(growth_factor)(c, z))
    params = {"flat": True, "H0": 100 * H, "Om0": OMEGA_M, "Ob0": OMEGA_B, "sigma8": SIGMA_8, "ns": N_S,
              "relspecies": False}
    colossus = cosmology.setCosmology("xcosmo-nbody-test", params)
    return lambda z: float(colossus.growthFactor(z))


def _plin(k):
    """Linear power at z = 0 in float64, (Mpc/h)^3, k in h/Mpc."""
    c = make_cosmology(OMEGA_M, SIGMA_8, h=H, omega_b=OMEGA_B, n_s=N_S)
    return np.asarray(float64(linear_power)(c, np.asarray(k, np.float64)))


def _full_fft_modes(field, box: nbody.Box):
    """|k| (h/Mpc) and P_k = |delta_k|^2 V / N^2 ((Mpc/h)^3) of every mode of the full numpy FFT (k = 0 included)."""
    fk = np.fft.fftn(np.asarray(field, np.float64))
    kv = np.meshgrid(*[2 * np.pi * np.fft.fftfreq(n, d=box.voxel_mpc_h) for n in box.mesh_shape], indexing="ij")
    k = np.sqrt(sum(x**2 for x in kv))
    return k, np.abs(fk) ** 2 * math.prod(box.box_size) / box.n_particles**2, kv


def _bin_index(k, box: nbody.Box, n_bins):
    """Bin of each |k| in nbody.power_spectrum's documented binning (linear, from k_f/2 to the voxel Nyquist k)."""
    k_f = 2 * np.pi / max(box.box_size)
    edges = np.linspace(k_f / 2, np.pi / box.voxel_mpc_h, n_bins + 1)
    idx = np.digitize(k, edges) - 1
    return np.where((idx >= 0) & (idx < n_bins) & (k > 0), idx, -1)


def _run_ensemble(cosmo, box, settings, seeds, n_bins, growth):
    """Evolve one box per seed to Z_FINAL; per-seed binned spectra and full-FFT mode sums at k <= K_LARGE."""
    d2 = growth(Z_FINAL) ** 2
    out = {"d2": d2, "p_pm": [], "p_ic": [], "sum_pm": [], "sum_ic": [], "white_pm": [], "mean_density": []}
    for seed in seeds:
        key = jax.random.key(seed)
        dx, p = nbody.evolve(cosmo, key, box, 1.0 / (1.0 + Z_FINAL), settings)
        rho = nbody.density(dx)
        linear = nbody.initial_conditions(cosmo, key, box)
        if seed == seeds[0]:
            out["first"] = (dx, p, rho, linear)
        rho = np.asarray(rho, np.float64)
        out["mean_density"].append(rho.mean())
        k, p_pm = nbody.power_spectrum(rho - 1.0, box, n_bins)
        _, p_ic = nbody.power_spectrum(np.asarray(linear), box, n_bins)
        out["p_pm"].append(p_pm)
        out["p_ic"].append(p_ic * d2)
        kk, pk_pm, _ = _full_fft_modes(rho - 1.0, box)
        _, pk_ic, _ = _full_fft_modes(linear, box)
        sel = (kk > 0) & (kk <= K_LARGE)
        out["sum_pm"].append(pk_pm[sel].sum())
        out["sum_ic"].append(pk_ic[sel].sum() * d2)
        out["white_pm"].append(pk_pm[sel] / (_plin(kk[sel]) * d2))
    out["k"] = k
    out["n_large_modes"] = int(sel.sum())  # full-FFT modes with 0 < k <= K_LARGE, per seed
    return {name: (np.array(v) if isinstance(v, list) else v) for name, v in out.items()}


# --- the acceptance criterion: PM power = linear x growth^2 to 10% at k <= 0.06 h/Mpc --------------------------------

CUBIC = nbody.Box((64, 64, 64), 3.0)  # 192 Mpc/h: 26 modes at k <= 0.06
CUBIC_SEEDS = tuple(range(6))
NONCUBIC = nbody.Box((64, 48, 56), 3.0)  # 192 x 144 x 168 (Mpc/h)^3: 18 modes at k <= 0.06
NONCUBIC_SEEDS = tuple(range(100, 104))


@pytest.fixture(scope="module")
def cubic_runs(cosmo, growth):
    """The quickstart integration (2LPT at z = 19, 20 steps) on a 64^3 box of 3 Mpc/h voxels, six seeds."""
    return _run_ensemble(cosmo, CUBIC, nbody.PMSettings(z_start=19.0, n_steps=20), CUBIC_SEEDS, 48, growth)


@pytest.fixture(scope="module")
def noncubic_runs(cosmo, growth):
    """The quickstart integration on a 64 x 48 x 56 box of 3 Mpc/h voxels, four seeds."""
    return _run_ensemble(cosmo, NONCUBIC, nbody.PMSettings(z_start=19.0, n_steps=20), NONCUBIC_SEEDS, 48, growth)


def _check_same_seed_acceptance(runs):
    k = runs["k"]
    ratio = (runs["p_pm"] / runs["p_ic"]).mean(axis=0)
    large = k <= K_LARGE
    assert large.sum() >= 2, k[:4]
    np.testing.assert_allclose(ratio[large], 1.0, atol=ACCEPT, err_msg=f"k = {k[large]}")
    # the mode-weighted ratio over all modes at k <= 0.06 of all seeds
    pooled = runs["sum_pm"].sum() / runs["sum_ic"].sum()
    assert abs(pooled - 1.0) < ACCEPT, pooled
    # and the run did evolve non-linearly: the density contrast is strongly skewed (a Gaussian field has ~0)
    delta = np.asarray(runs["first"][2], np.float64) - 1.0
    skew = np.mean((delta - delta.mean()) ** 3) / np.std(delta) ** 3
    assert skew > 1.0, skew


def test_pm_power_matches_linear_growth_same_seed(cubic_runs):
    """Issue acceptance: seed-averaged P_PM / (P_IC D^2) within 10% of 1 in every bin with k <= 0.06 h/Mpc."""
    _check_same_seed_acceptance(cubic_runs)


@pytest.mark.slow
def test_pm_power_matches_linear_growth_same_seed_paper_settings(cosmo, growth):
    """The same with the paper's integration (2LPT at z = 99, 40 steps): ~40 s more on a 2-core CPU.

    Measured: 0.96 and 0.95 in the two bins; from z = 99 the CIC-smoothed force has longer to slow the growth.
    """
    runs = _run_ensemble(cosmo, CUBIC, nbody.PMSettings(z_start=99.0, n_steps=40), CUBIC_SEEDS, 48, growth)
    _check_same_seed_acceptance(runs)


def test_pm_power_matches_linear_theory_directly(cubic_runs):
    """P_PM / (P_lin D^2) at k <= 0.06 h/Mpc, six seeds, tolerance 10% + 3 sigma of cosmic variance.

    All 26 modes together (78 independent over six seeds: sigma = 0.11), then bin by bin with each bin's own count
    (3 and 10 independent modes per seed: these tolerances are loose, as they must be for so few modes).
    """
    n_independent = cubic_runs["n_large_modes"] // 2 * len(CUBIC_SEEDS)
    ratio = np.concatenate(cubic_runs["white_pm"]).mean()
    assert abs(ratio - 1.0) < ACCEPT + 3 / math.sqrt(n_independent), ratio

    n_bins = 48
    k, p_pm = cubic_runs["k"], cubic_runs["p_pm"].mean(axis=0)
    kk = _full_fft_modes(np.zeros(CUBIC.mesh_shape), CUBIC)[0].ravel()
    idx = _bin_index(kk, CUBIC, n_bins)
    counts = np.bincount(idx[idx >= 0], minlength=n_bins)
    plin = np.bincount(idx[idx >= 0], weights=_plin(kk[idx >= 0]), minlength=n_bins)[counts > 0] / counts[counts > 0]
    counts = counts[counts > 0]
    large = k <= K_LARGE
    sigma = 1.0 / np.sqrt(counts[large] / 2 * len(CUBIC_SEEDS))
    direct = p_pm[large] / (plin[large] * cubic_runs["d2"])
    np.testing.assert_array_less(np.abs(direct - 1.0), ACCEPT + 3 * sigma)


def test_noncubic_box_shapes_mass_and_large_scale_power(noncubic_runs):
    """A 64 x 48 x 56 box: float32 outputs of the right shapes, mass conserved, large-scale power within 10%.

    Its 18 modes at k <= 0.06 h/Mpc fall into two bins of 6 and 12 modes per seed: a bin's same-seed ratio scatters
    by ~0.04 from seed to seed (non-linear coupling of so few modes; 0.89-1.0 for the 4-seed mean of other seeds), so
    each bin gets 10% plus twice the standard error of its 4-seed mean, and all 72 modes together get the plain 10%.
    The direct comparison gets 10% + 3/sqrt(36) for cosmic variance.
    """
    dx, p, rho, linear = noncubic_runs["first"]
    assert dx.shape == p.shape == (*NONCUBIC.mesh_shape, 3)
    assert dx.dtype == p.dtype == jnp.float32
    assert rho.shape == linear.shape == NONCUBIC.mesh_shape
    assert rho.dtype == linear.dtype == jnp.float32
    assert np.all(np.isfinite(np.asarray(dx))) and np.all(np.asarray(rho) >= 0)
    np.testing.assert_allclose(noncubic_runs["mean_density"], 1.0, rtol=0, atol=1e-6)

    k = noncubic_runs["k"]
    per_seed = noncubic_runs["p_pm"] / noncubic_runs["p_ic"]
    large = k <= K_LARGE
    assert large.sum() == 2, k[:4]
    stderr = per_seed[:, large].std(axis=0, ddof=1) / math.sqrt(len(NONCUBIC_SEEDS))
    np.testing.assert_array_less(np.abs(per_seed[:, large].mean(axis=0) - 1.0), ACCEPT + 2 * stderr)
    pooled = noncubic_runs["sum_pm"].sum() / noncubic_runs["sum_ic"].sum()
    assert abs(pooled - 1.0) < ACCEPT, pooled
    n_independent = noncubic_runs["n_large_modes"] // 2 * len(NONCUBIC_SEEDS)
    direct = np.concatenate(noncubic_runs["white_pm"]).mean()
    assert abs(direct - 1.0) < ACCEPT + 3 / math.sqrt(n_independent), direct


# --- initial conditions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("box", [nbody.Box((32, 32, 32), 8.0), nbody.Box((48, 32, 40), 5.0)], ids=["cubic", "noncubic"])
def test_initial_conditions_match_linear_power(cosmo, box):
    """|delta_k|^2 / P_lin(|k|) over all modes (numpy FFT, float64 P_lin) averages to 1 in k shells and by direction.

    Each group of M independent complex modes (half the full-FFT modes, times 3 seeds) has a mean scattering by
    1/sqrt(M); tolerance 4 sigma + 1% (float32 field and P_lin). Grouping by the dominant axis of k would show a
    mix-up of jaxpm's transposed Fourier layout on a non-cubic mesh (wrong |k| for a mode).
    """
    white, shells, axes = [], [], []
    k_f, k_nyq = 2 * np.pi / max(box.box_size), np.pi / box.voxel_mpc_h
    shell_edges = np.geomspace(0.99 * k_f, 1.01 * math.sqrt(3) * k_nyq, 6)[1:-1]  # 5 shells, first from k_f
    for seed in range(3):
        field = nbody.initial_conditions(cosmo, jax.random.key(seed), box)
        assert field.shape == box.mesh_shape and field.dtype == jnp.float32
        assert abs(float(jnp.mean(field))) < 1e-6  # the k = 0 mode is zeroed
        k, pk, kv = _full_fft_modes(field, box)
        sel = k > 0
        white.append(pk[sel] / _plin(k[sel]))
        shells.append(np.digitize(k[sel], shell_edges))
        axes.append(np.argmax(np.abs(np.stack(kv)), axis=0)[sel])
    white, shells, axes = map(np.concatenate, (white, shells, axes))
    groups = [shells == s for s in np.unique(shells)] + [axes == a for a in range(3)]
    for g in groups:
        m = g.sum() / 2
        assert m >= 10
        assert abs(white[g].mean() - 1.0) < 4 / math.sqrt(m) + 0.01, (g.sum(), white[g].mean())


def test_initial_conditions_binned_power_matches_linear_power(cosmo):
    """nbody.power_spectrum of the IC (3 seeds) against P_lin averaged over the same modes, tolerance from counts."""
    box = nbody.Box((48, 48, 48), 5.0)
    n_bins = 24
    fields = [np.asarray(nbody.initial_conditions(cosmo, jax.random.key(s), box)) for s in range(3)]
    p = np.mean([nbody.power_spectrum(f, box, n_bins)[1] for f in fields], axis=0)
    k = _full_fft_modes(np.zeros(box.mesh_shape), box)[0].ravel()
    idx = _bin_index(k, box, n_bins)
    counts = np.bincount(idx[idx >= 0], minlength=n_bins)
    expected = np.bincount(idx[idx >= 0], weights=_plin(k[idx >= 0]), minlength=n_bins) / counts
    sigma = 1.0 / np.sqrt(counts / 2 * 3)
    np.testing.assert_array_less(np.abs(p / expected - 1.0), 4 * sigma + 0.01)


# --- linear growth of a single plane wave --------------------------------------------------------------------------


def test_plane_wave_grows_like_linear_theory(cosmo, growth):
    """Plane waves delta = 0.01 cos(k x_i + 0.3) at z = 0 along each axis of a 64 x 48 x 56 mesh, z = 19 to z = 0.

    In 1D the Zel'dovich displacement is exact before shell crossing, so the displacement amplitude must grow as
    D(0)/D(19) = 15.58 (colossus); the three waves only couple at second order, into modes (k_x, k_y, ...) that
    average out along the other axes. Measured for one wave on 64 voxels: 15.50 with 40 steps (the leapfrog converges
    to 15.52; the rest is the CIC-smoothed force, which slows a mode of w radians per voxel by about w^2 / 6: 1% at
    w = 2 pi / 48). The phase offset keeps every displacement away from zero near the box edge (jaxpm's float32 CIC
    index wrap can drop a particle at -1e-7). Each axis separately checks the handling of jaxpm's transposed FFT.
    """
    from jaxpm.pm import lpt, make_ode_fn

    shape, amp, phase = (64, 48, 56), 0.01, 0.3
    coords = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    ws = [2 * np.pi / n for n in shape]  # radians per voxel
    field = sum(amp * np.cos(w * x + phase) for w, x in zip(ws, coords)).astype(np.float32)
    z_start, n_steps = 19.0, 40
    a0 = 1.0 / (1.0 + z_start)
    ode = make_ode_fn(shape, paint_absolute_pos=False)  # jaxpm's equations of motion: (dx/da, dp/da)

    @jax.jit
    def run(field):
        jc = to_jax_cosmo(cosmo)
        dx0, p0, _ = lpt(jc, field, a=a0, order=2)

        def dp_da(x, a):
            return ode((x, jnp.zeros_like(x)), a, jc)[1]

        def dx_da(p, a):
            return ode((jnp.zeros_like(p), p), a, jc)[0]

        return dx0, nbody.kick_drift_kick(dp_da, dx_da, dx0, p0, a0, jnp.float32(1.0), n_steps)

    dx0, (dx1, p1) = run(jnp.asarray(field))
    assert dx1.shape == p1.shape == (*shape, 3) and dx1.dtype == p1.dtype == jnp.float32

    def amplitude(d, axis):
        """Amplitude of sin(k x_axis + phase) in the axis component of d, averaged over the other axes."""
        d = np.asarray(d, np.float64)[..., axis]
        profile = d.mean(axis=tuple(i for i in range(3) if i != axis))
        assert np.abs(d - np.expand_dims(profile, [i for i in range(3) if i != axis])).max() < 0.05 * np.abs(d).max()
        s = np.sin(ws[axis] * np.arange(shape[axis]) + phase)
        return profile @ s / (s @ s)

    growth_lin = growth(0.0) / growth(z_start)
    for axis in range(3):
        # initial displacement: psi = -(delta D(z_start) / k) sin(k x + phase), in voxels (delta = -div psi)
        initial = amplitude(dx0, axis)
        np.testing.assert_allclose(initial, -amp * growth(z_start) / ws[axis], rtol=1e-3, err_msg=f"axis {axis}")
        growth_pm = amplitude(dx1, axis) / initial
        assert growth_pm == pytest.approx(growth_lin, rel=0.02), axis
        assert growth_pm < growth_lin  # the smoothed force can only slow the growth down


# --- determinism, traced scale factor ------------------------------------------------------------------------------

TINY = nbody.Box((16, 16, 16), 8.0)
TINY_PM = nbody.PMSettings(z_start=19.0, n_steps=4)


def test_same_key_bit_identical_different_keys_differ(cosmo):
    key = jax.random.key(7)
    dx1, p1 = nbody.evolve(cosmo, key, TINY, 0.7, TINY_PM)
    dx2, p2 = nbody.evolve(cosmo, key, TINY, 0.7, TINY_PM)
    assert np.array_equal(np.asarray(dx1), np.asarray(dx2)) and np.array_equal(np.asarray(p1), np.asarray(p2))
    ic1, ic2 = nbody.initial_conditions(cosmo, key, TINY), nbody.initial_conditions(cosmo, key, TINY)
    np.testing.assert_array_equal(ic1, ic2)

    dx4, _ = nbody.evolve(cosmo, jax.random.key(8), TINY, 0.7, TINY_PM)
    diff = np.abs(np.asarray(dx4) - np.asarray(dx1))
    assert diff.max() > 0.1 * np.abs(np.asarray(dx1)).max()
    assert np.corrcoef(np.asarray(dx1).ravel(), np.asarray(dx4).ravel())[0, 1] < 0.3
    # the keys of a light cone's boxes (split from one key) give distinct fields
    keys = jax.random.split(jax.random.key(0), 3)
    fields = [np.asarray(nbody.initial_conditions(cosmo, k, TINY)) for k in keys]
    assert not np.array_equal(fields[0], fields[1]) and not np.array_equal(fields[1], fields[2])


def test_gradients_through_the_nbody_match_finite_differences():
    """d/d sigma_8 of a summary of the evolved displacements (initial conditions, 2LPT, 4 leapfrog steps with the
    forces of xcosmo.forces), by autodiff and by a central difference (h = 0.01, float32: rounding ~1e-5 relative)."""
    box, settings = nbody.Box((8, 8, 8), 8.0), nbody.PMSettings(z_start=9.0, n_steps=4)
    key, v = jax.random.key(0), jax.random.normal(jax.random.key(1), (8, 8, 8, 3))

    def summary(s8):
        dx, _ = nbody.evolve(make_cosmology(0.3, s8), key, box, 0.8, settings)
        return jnp.sum(dx * v) + jnp.sum(dx**2)

    h = 1e-2
    fd = (summary(0.8 + h) - summary(0.8 - h)) / (2 * h)
    assert float(jax.grad(summary)(0.8)) == pytest.approx(float(fd), rel=1e-3)


def test_traced_scale_factor_compiles_once(cosmo):
    """evolve under jit over a_final and under vmap over two scale factors; new a_final values do not recompile."""
    key = jax.random.key(3)
    f = jax.jit(lambda a: nbody.evolve(cosmo, key, TINY, a, TINY_PM)[0])
    dx_a, dx_b = f(0.5), f(0.8)
    assert f._cache_size() == 1
    assert not np.allclose(dx_a, dx_b)
    both = jax.vmap(lambda a: nbody.evolve(cosmo, key, TINY, a, TINY_PM)[0])(jnp.array([0.5, 0.8]))
    np.testing.assert_allclose(both[0], dx_a, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(both[1], dx_b, rtol=1e-4, atol=1e-5)
    eager = nbody.evolve(cosmo, key, TINY, 0.8, TINY_PM)[0]
    np.testing.assert_allclose(eager, dx_b, rtol=1e-4, atol=1e-5)

    # the eager entry point: once warm, other scale factors and other cosmologies reuse the compiled run
    compiles = []

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        for a in (0.55, 0.6, np.float32(0.65), jnp.float32(0.7)):
            nbody.evolve(cosmo, key, TINY, a, TINY_PM)[0].block_until_ready()
        nbody.evolve(make_cosmology(0.25, 0.9), jax.random.key(4), TINY, 0.7, TINY_PM)[0].block_until_ready()
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert compiles == []


# --- bad input -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(mesh_shape=(64, 64), voxel_mpc_h=4.0), "mesh_shape"),
        (dict(mesh_shape=(64, 64, 64, 64), voxel_mpc_h=4.0), "mesh_shape"),
        (dict(mesh_shape=(64, 3, 64), voxel_mpc_h=4.0), "mesh_shape"),
        (dict(mesh_shape=(64, 64, 64), voxel_mpc_h=0.0), "voxel_mpc_h"),
        (dict(mesh_shape=(64, 64, 64), voxel_mpc_h=-4.0), "voxel_mpc_h"),
        (dict(mesh_shape=(64, 64, 64), voxel_mpc_h=float("nan")), "voxel_mpc_h"),
        (dict(mesh_shape=(64, 64, 64), voxel_mpc_h=1e4), "voxel_mpc_h"),
    ],
)
def test_bad_box_raises(kwargs, field):
    with pytest.raises(ValueError, match=field):
        nbody.Box(**kwargs)


@pytest.mark.parametrize(
    "cls, kwargs, field",
    [
        (nbody.Box, dict(mesh_shape=(64, 64.5, 64), voxel_mpc_h=4.0), r"mesh_shape\[1\] = 64.5"),
        (nbody.Box, dict(mesh_shape=(64, 64, 64), voxel_mpc_h="4"), "voxel_mpc_h = '4'"),
        (nbody.Box, dict(mesh_shape=(8, 8, 8), voxel_mpc_h=True), "voxel_mpc_h = True"),
        (nbody.PMSettings, dict(n_steps=2.5), "n_steps = 2.5"),
        (nbody.PMSettings, dict(n_steps=True), "n_steps = True"),
    ],
)
def test_wrong_types_raise_type_errors(cls, kwargs, field):
    with pytest.raises(TypeError, match=field):
        cls(**kwargs)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(z_start=0.5), "z_start"),
        (dict(z_start=-1.0), "z_start"),
        (dict(z_start=2000.0), "z_start"),
        (dict(z_start=float("nan")), "z_start"),
        (dict(n_steps=0), "n_steps"),
        (dict(n_steps=-3), "n_steps"),
        (dict(lpt_order=0), "lpt_order"),
        (dict(lpt_order=3), "lpt_order"),
    ],
)
def test_bad_pm_settings_raise(kwargs, field):
    with pytest.raises(ValueError, match=field):
        nbody.PMSettings(**kwargs)


def test_good_inputs_are_normalised():
    box = nbody.Box((np.int64(48), 32, 40), 5)
    assert box.mesh_shape == (48, 32, 40) and isinstance(box.voxel_mpc_h, float)
    assert box.box_size == (240.0, 160.0, 200.0) and box.n_particles == 48 * 32 * 40
    assert nbody.PMSettings(z_start=19.0).a_start == pytest.approx(0.05)
    settings = nbody.PMSettings(z_start=np.float32(19), n_steps=np.int64(20))
    assert settings.n_steps == 20 and isinstance(settings.z_start, float)
    assert nbody.Box((8, 8, 8), np.float32(2.0)).voxel_mpc_h == 2.0


@pytest.mark.parametrize("a_final", [0.005, 1.5, [0.5, 0.6]])
def test_bad_scale_factor_raises(a_final):
    with pytest.raises(ValueError, match="a_final"):
        nbody.evolve(make_cosmology(0.3, 0.8), jax.random.key(0), nbody.Box((8, 8, 8), 4.0), a_final)


def test_power_spectrum_rejects_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        nbody.power_spectrum(np.zeros((8, 8, 8)), nbody.Box((8, 8, 16), 1.0))


# --- the power-spectrum estimator ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(24, 16, 20), (24, 16, 21)], ids=["even", "odd-last-axis"])
def test_power_spectrum_matches_full_fft_average(shape):
    """Against an independent estimate: plain mode average over the full complex FFT (no half-space weights)."""
    box = nbody.Box(shape, 2.5)
    n_bins = 12
    field = np.random.default_rng(1).normal(size=shape)
    k, p = nbody.power_spectrum(field, box, n_bins)
    kk, pk, _ = _full_fft_modes(field, box)
    idx = _bin_index(kk.ravel(), box, n_bins)
    counts = np.bincount(idx[idx >= 0], minlength=n_bins)
    good = counts > 0
    k_ref = np.bincount(idx[idx >= 0], weights=kk.ravel()[idx >= 0], minlength=n_bins)[good] / counts[good]
    p_ref = np.bincount(idx[idx >= 0], weights=pk.ravel()[idx >= 0], minlength=n_bins)[good] / counts[good]
    np.testing.assert_allclose(k, k_ref, rtol=1e-12)
    np.testing.assert_allclose(p, p_ref, rtol=1e-10)
    # white noise of unit variance has P = V / N = voxel volume on average
    assert np.average(p, weights=counts[good]) == pytest.approx(box.voxel_mpc_h**3, rel=0.05)


@pytest.mark.parametrize("m", [(2, 1, 3), (3, 2, 0), (0, 0, 5), (1, 0, 0)])
def test_power_spectrum_of_a_cosine_mode(m):
    """delta = A cos(k.x + phi) puts A^2 V / 4 in each of the modes +k and -k: the bin holding |k| reads
    A^2 V / (2 N_bin) (N_bin modes of the full FFT in the bin), every other bin reads zero."""
    box = nbody.Box((48, 32, 40), 5.0)
    n_bins = 24
    amp, phase = 0.3, 0.7
    kvec = [2 * np.pi * mi / (n * box.voxel_mpc_h) for mi, n in zip(m, box.mesh_shape)]
    grids = np.meshgrid(*[np.arange(n) * box.voxel_mpc_h for n in box.mesh_shape], indexing="ij")
    field = amp * np.cos(sum(ki * g for ki, g in zip(kvec, grids)) + phase)
    k, p = nbody.power_spectrum(field, box, n_bins)
    k0 = math.hypot(*kvec)
    kk = _full_fft_modes(field, box)[0].ravel()
    idx = _bin_index(kk, box, n_bins)
    target = _bin_index(np.array([k0]), box, n_bins)[0]
    counts = np.bincount(idx[idx >= 0], minlength=n_bins)
    (hit,) = np.nonzero(p > 1e-20 * p.max())
    assert len(hit) == 1
    assert np.sum(counts[:target] > 0) == hit[0]  # bins without modes are dropped from the output
    volume = math.prod(box.box_size)
    assert p[hit[0]] == pytest.approx(amp**2 * volume / (2 * counts[target]), rel=1e-10)
    assert abs(k[hit[0]] - k0) < (np.pi / box.voxel_mpc_h) / n_bins


def test_snapshots_are_the_evolution_stopped_at_each_scale_factor(cosmo):
    """One run saved at a = 0.5 and 0.8 is the run evolved to 0.5 with the same steps, then continued; a single
    snapshot is exactly :func:`nbody.evolve`."""
    import dataclasses

    key = jax.random.key(3)
    only = nbody.snapshots(cosmo, key, TINY, [0.8], TINY_PM)
    assert only.shape == (1, *TINY.mesh_shape, 3) and only.dtype == jnp.float32
    np.testing.assert_allclose(only[0], nbody.evolve(cosmo, key, TINY, 0.8, TINY_PM)[0], rtol=0, atol=1e-5)
    both = nbody.snapshots(cosmo, key, TINY, [0.5, 0.8], TINY_PM)
    ln_a = np.log([TINY_PM.a_start, 0.5, 0.8])
    first_steps = max(1, round(TINY_PM.n_steps * (ln_a[1] - ln_a[0]) / (ln_a[2] - ln_a[0])))
    early = nbody.evolve(cosmo, key, TINY, 0.5, dataclasses.replace(TINY_PM, n_steps=first_steps))[0]
    np.testing.assert_allclose(both[0], early, rtol=0, atol=1e-5)
    # displacements keep growing between the snapshots, roughly as the linear growth factor
    ratio = float(np.std(np.asarray(both[1])) / np.std(np.asarray(both[0])))
    assert 1.3 < ratio < 1.8  # D(a=0.8) / D(a=0.5) = 1.52 at Omega_m = 0.3
    for bad in ([0.8, 0.5], [], [0.01], [0.5, 1.2]):
        with pytest.raises(ValueError, match="scale_factors"):
            nbody.snapshots(cosmo, key, TINY, bad, TINY_PM)
