"""Training the extended LDL (paper figure 1), in three stages on a training store's split
(:mod:`emulators.eldl.samples`):

1. **base LDL**: Theta_fid of the n_e and T models on the CV training boxes at z = 0.21 (:func:`train_base`),
   starting from the best of a few displacements (none, or diffusions of the dark matter) with its best power-law
   activation (:func:`initial_params`);
2. **conditioning**: delta Theta(theta_sim) of both models on the LH training boxes at z = 0.21, Theta_fid fixed
   (:func:`train_conditioning`);
3. **redshifts**: a copy of the T conditioning trained again at each other training redshift of the LH boxes.

Each fit minimises the mean over its samples of the loss of eq. 5 or 6 (:mod:`emulators.eldl.loss`) relative to the
same loss of an empty prediction (so 1 is "predicts nothing", 0 is perfect), with optax's L-BFGS for the base models
(23 parameters each, as the original LDL) and Adam for the conditioning MLPs, and stops early when
the validation boxes' loss has not improved for ``patience`` evaluations, keeping the best parameters. The best
parameters so far are checkpointed atomically at every evaluation; a fit given an existing checkpoint of the same
stage starts from it (with a fresh optimiser state), and :func:`train_eldl` skips the stages it has finished.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from emulators.eldl.eldl import ELDL
from emulators.eldl.ldl import LDLParams, ldl
from emulators.eldl.loss import ne_loss, smoothing_operator, t_loss
from emulators.eldl.samples import Arrays, Sample, Split

__all__ = ["FitSettings", "BASE", "CONDITIONING", "relative_loss", "relative_field_loss", "initial_params",
           "diffusion_params", "DIFFUSION_GAMMA", "DIFFUSION_STEPS", "fit", "train_base", "train_conditioning",
           "train_eldl", "BASE_Z"]

BASE_Z = 0.21
"""Redshift of the base LDL and of the first conditioning (paper 2.2)."""


@dataclass(frozen=True)
class FitSettings:
    """``optimizer``: Adam with ``learning_rate`` (gradients clipped to a global norm of ``clip``), each step on
    ``batch`` training samples drawn at random (``seed``), or L-BFGS with a zoom line search on all of them (what the
    original LDL uses for its few parameters); at most ``steps`` steps, the validation loss evaluated every
    ``eval_every`` steps, stopping after ``patience`` evaluations without improvement."""

    steps: int = 300
    learning_rate: float = 0.01
    clip: float = 1.0
    batch: int = 2
    seed: int = 0
    optimizer: str = "adam"

    def __post_init__(self):
        from xcosmo.checks import check_choice

        check_choice("optimizer", self.optimizer, ("adam", "lbfgs"))
    eval_every: int = 10
    patience: int = 5


def _operator(shape, voxel_mpc_h=0.39):
    return smoothing_operator(tuple(shape), voxel_mpc_h)


def relative_field_loss(which: str, field: jax.Array, sample: Arrays) -> jax.Array:
    """Eq. 5 (``which = "ne"``) or 6 (``"t"``) of a painted ``field`` on a sample, over the same loss of an empty
    prediction."""
    op = _operator(sample.dx.shape[:3])
    loss = ne_loss if which == "ne" else t_loss
    return loss(field, sample.ne, sample.kt, sample.rho, op) / loss(0.0 * field, sample.ne, sample.kt, sample.rho, op)


def relative_loss(which: str, params: LDLParams, sample: Arrays) -> jax.Array:
    """:func:`relative_field_loss` of the model ``params``."""
    return relative_field_loss(which, ldl(params, sample.dx), sample)


DIFFUSION_GAMMA = 0.05
"""Source exponent of the diffusive starting displacements (:func:`initial_params`)."""
DIFFUSION_STEPS = (-0.1, -0.2, -0.3, -0.4)
"""alpha gamma of each of the two layers of the diffusive starting displacements tried (:func:`initial_params`):
Gaussian-like smoothings of sqrt(-4 alpha gamma) = 0.6 to 1.3 voxels in all."""


def diffusion_params(step: float, n_knots: int = 8, gamma: float = DIFFUSION_GAMMA) -> LDLParams:
    """Two displacement layers that each diffuse the particles by ``step`` = alpha gamma (voxels^2), the activation
    the identity.

    With a small source exponent, (1 + delta)^gamma ~ 1 + gamma ln(1 + delta), so a layer moves the particles by
    dx ~ alpha gamma grad ln(1 + delta) (eq. 3 with the identity filter): the mass flux (1 + delta) dx = alpha gamma
    grad(1 + delta) is that of the heat equation run for a time where its Gaussian kernel has the variance
    sigma^2 = -2 alpha gamma. Two layers smooth the dark matter on about sqrt(-4 alpha gamma) voxels (a little less:
    the cloud-in-cell windows and the finite-difference gradient damp a wave of 16 voxels 12-15% less than the heat
    kernel), Lagrangian-wise."""
    f32 = jnp.float32
    return eqx.tree_at(lambda p: (p.gamma, p.alpha), LDLParams.identity(n_knots),
                       (jnp.full(2, gamma, f32), jnp.full(2, step / gamma, f32)))  # fmt: skip


def initial_params(which: str, samples: tuple[Sample, ...], n_knots: int = 8) -> LDLParams:
    """The starting point of a base fit, the best on its own loss of ``samples`` among: the displacements of no
    displacement and of :func:`diffusion_params` with each of :data:`DIFFUSION_STEPS`, each with the activation
    b1 (1 + delta)^mu whose (b1, mu) is the best on a grid (mu 0.25-2.5, b1 1e-4-1e3). The displaced density is
    computed once per displacement, so the grid costs losses only, not models.

    Why the diffusive starts: the losses are nearly flat around the undisplaced power law (15 L-BFGS steps from it
    moved the default suite's n_e validation loss from 0.9043 to 0.9041), yet two diffusive layers with alpha gamma =
    -0.3 lower it to 0.88 and raise figure 5's voxel correlation on the held-out boxes from 0.18 to 0.60: the
    particle-mesh density is noisy on the voxel scale, and gradient steps from alpha = 0, gamma = 1 never reach
    alpha ~ -6, gamma ~ 0.05."""
    import numpy as np

    if not samples:
        raise ValueError(f"initial {which} model: no training sample")
    arrays = [s.arrays for s in samples[:2]]
    score = jax.jit(lambda b1, mu, rho, a: relative_field_loss(which, b1 * rho**mu, a))
    grid = [(b1, mu) for mu in np.linspace(0.25, 2.5, 10) for b1 in np.logspace(-4, 3, 15)]
    best = (np.inf, None)
    for start in (LDLParams.identity(n_knots), *(diffusion_params(step, n_knots) for step in DIFFUSION_STEPS)):
        displaced = [ldl(start, a.dx) for a in arrays]  # the identity activation: the displaced density
        values = [np.mean([float(score(b1, mu, rho, a)) for rho, a in zip(displaced, arrays)]) for b1, mu in grid]
        k = int(np.argmin(values))
        if values[k] < best[0]:
            b1, mu = grid[k]
            best = (values[k], eqx.tree_at(lambda p: (p.ln_b1, p.mu), start,
                                           (jnp.asarray(np.log(b1), jnp.float32), jnp.asarray(mu, jnp.float32))))  # fmt: skip
    return best[1]


def fit(model, loss, train: tuple[Sample, ...], validation: tuple[Sample, ...], settings: FitSettings = FitSettings(),
        checkpoint: str | os.PathLike | None = None, progress: bool = False, desc: str = "fit"):  # fmt: skip
    """Minimise ``loss(model, arrays)`` (:class:`emulators.eldl.samples.Arrays` of one sample) over ``train``, each
    step on a random batch of ``settings.batch`` samples (module docstring); returns the best model (by the mean
    validation loss, or the mean training loss without validation samples) and the history of evaluations."""
    import numpy as np
    import optax
    from tqdm.auto import tqdm

    if not train:
        raise ValueError(f"{desc}: no training sample (is the store complete, with boxes of this role and redshift?)")
    if checkpoint is not None and Path(checkpoint).is_file():
        model = eqx.tree_deserialise_leaves(checkpoint, model)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    lbfgs = settings.optimizer == "lbfgs"
    if lbfgs:
        optimiser = optax.lbfgs()
    else:
        optimiser = optax.chain(optax.clip_by_global_norm(settings.clip), optax.adam(settings.learning_rate))
    state = optimiser.init(params)
    train_arrays = [s.arrays for s in train]
    check_arrays = [s.arrays for s in validation] or train_arrays

    @eqx.filter_jit
    def step(params, state, batch):
        def batch_loss(p):
            return jnp.mean(jax.vmap(lambda a: loss(eqx.combine(p, static), a))(batch))

        if lbfgs:
            value, grads = optax.value_and_grad_from_state(batch_loss)(params, state=state)
            updates, state = optimiser.update(grads, state, params, value=value, grad=grads, value_fn=batch_loss)
        else:
            value, grads = eqx.filter_value_and_grad(batch_loss)(params)
            updates, state = optimiser.update(grads, state, params)
        return eqx.apply_updates(params, updates), state, value

    one = eqx.filter_jit(lambda p, a: loss(eqx.combine(p, static), a))

    def evaluate(p):
        return float(np.mean([float(one(p, a)) for a in check_arrays]))

    rng = np.random.default_rng(settings.seed)
    size = len(train_arrays) if lbfgs else min(settings.batch, len(train_arrays))  # L-BFGS: the full batch
    best, best_value, waited = params, evaluate(params), 0
    history = [{"step": 0, "train": None, "validation": best_value}]
    bar = tqdm(range(settings.steps), desc=desc, disable=not progress)
    for i in bar:
        picked = rng.choice(len(train_arrays), size=size, replace=False)
        batch = jax.tree.map(lambda *x: jnp.stack(x), *[train_arrays[j] for j in picked])
        params, state, value = step(params, state, batch)
        if (i + 1) % settings.eval_every and i + 1 < settings.steps:
            continue
        current = evaluate(params)
        history.append({"step": i + 1, "train": float(value), "validation": current})
        bar.set_postfix(train=f"{float(value):.4f}", validation=f"{current:.4f}")
        if current < best_value:
            best, best_value, waited = params, current, 0
            if checkpoint is not None:
                _save(checkpoint, eqx.combine(best, static))
        else:
            waited += 1
            if waited >= settings.patience:
                break
    return eqx.combine(best, static), history


def _save(path, model):
    from xcosmo.io import atomic_path

    with atomic_path(path) as tmp:
        eqx.tree_serialise_leaves(tmp, model)


def train_base(split: Split, which: str, settings: FitSettings = FitSettings(optimizer="lbfgs"), checkpoint=None, progress=False,
               n_knots: int = 8):  # fmt: skip
    """Stage 1: Theta_fid of the ``which`` (``"ne"`` or ``"t"``) model on the CV boxes at z = 0.21."""
    loss = lambda p, s: relative_loss(which, p, s)  # noqa: E731
    train = split.select("train", "CV", BASE_Z)
    start = initial_params(which, train, n_knots) if train else LDLParams.identity(n_knots)
    return fit(start, loss, train, split.select("validation", "CV", BASE_Z), settings, checkpoint, progress, f"base {which}")


def train_conditioning(fiducial: LDLParams, conditioning, split: Split, which: str, z: float,
                       settings: FitSettings = FitSettings(), checkpoint=None, progress=False):  # fmt: skip
    """Stages 2 and 3: delta Theta of the ``which`` model on the LH boxes at ``z``, Theta_fid fixed."""
    flat, unravel = ravel_pytree(fiducial)

    def loss(c, s):
        return relative_loss(which, unravel(flat + c(s.theta)), s)

    return fit(conditioning, loss, split.select("train", "LH", z), split.select("validation", "LH", z), settings,
               checkpoint, progress, f"conditioning {which} z={z:g}")  # fmt: skip


CONDITIONING = FitSettings(learning_rate=0.003, steps=200)
"""Default settings of the conditioning stages (on the default suite, 80 steps took the n_e model's validation loss
on an LH box from 1.60 with Theta_fid alone to 0.78)."""


BASE = FitSettings(optimizer="lbfgs", steps=5)
"""Default settings of the base fits: few steps, since the loss is flat around the best start of
:func:`initial_params` (on the default suite, 15 L-BFGS steps on a CV box from the undisplaced power law moved its
validation loss from 0.9043 to 0.9041) and each costs about a minute."""


def train_eldl(split: Split, out: str | os.PathLike, t_redshifts, settings: FitSettings = BASE,
               conditioning: FitSettings = CONDITIONING, key: jax.Array | None = None, progress: bool = False) -> ELDL:  # fmt: skip
    """All three stages (``settings`` for the base models, ``conditioning`` for the MLPs) with their checkpoints in
    ``out``; ``stages.json`` records each finished stage and its history, so that a rerun into the same folder loads
    the finished stages and resumes the unfinished one from its checkpoint. Returns the trained :class:`ELDL`."""
    from xcosmo.io import atomic_path, ensure_writable_dir

    out = ensure_writable_dir(out)
    model = ELDL.untrained(t_redshifts, jax.random.key(0) if key is None else key)
    record = out / "stages.json"
    done = json.loads(record.read_text()) if record.is_file() else {}

    def stage(name, skeleton, run):
        checkpoint = out / f"{name}.eqx"
        if name in done and checkpoint.is_file():
            return eqx.tree_deserialise_leaves(checkpoint, skeleton)
        trained, history = run(checkpoint)
        _save(checkpoint, trained)
        done[name] = history
        with atomic_path(record) as tmp:
            tmp.write_text(json.dumps(done, indent=1))
        return trained

    n_knots = model.ne.xi.shape[-1]
    base = LDLParams.identity(n_knots)
    ne = stage("base_ne", base, lambda c: train_base(split, "ne", settings, c, progress))
    t = stage("base_t", base, lambda c: train_base(split, "t", settings, c, progress))
    # the conditionings vary each base model in units of its own size (LDLParams.shift_units)
    units = lambda fiducial: ravel_pytree(LDLParams.shift_units(n_knots, fiducial))[0]  # noqa: E731
    ne_start = eqx.tree_at(lambda c: c.units, model.ne_shift, units(ne))
    t_start = eqx.tree_at(lambda c: c.units, model.t_shifts[0], units(t))
    ne_shift = stage("conditioning_ne", ne_start,
                     lambda c: train_conditioning(ne, ne_start, split, "ne", BASE_Z, conditioning, c, progress))  # fmt: skip
    name = f"conditioning_t_{BASE_Z:g}"
    t_at_base = stage(name, t_start,
                      lambda c: train_conditioning(t, t_start, split, "t", BASE_Z, conditioning, c, progress))  # fmt: skip
    t_shifts = []
    for z in model.t_redshifts:
        if abs(z - BASE_Z) < 1e-6:
            t_shifts.append(t_at_base)
            continue
        t_shifts.append(stage(f"conditioning_t_{z:g}", t_at_base,
                              lambda c, z=z: train_conditioning(t, t_at_base, split, "t", z, conditioning, c, progress)))  # fmt: skip
    return ELDL(ne, t, ne_shift, tuple(t_shifts), model.t_redshifts)
