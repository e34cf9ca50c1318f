"""Training the networks of simulation-based inference: minibatch Adam, validation early stopping, resumable checkpoints.

One loop serves the compressor (:mod:`inference.sbi.compressor`) and the posterior estimator (:mod:`inference.sbi.mdn`):
``loss(model, batch)`` is the mean loss of a batch (a tuple of arrays sharing their first axis). Every epoch visits
the training set once in a random order (seeded by the settings' seed and the epoch, so a resumed run draws the
same batches as an uninterrupted one); after it, the mean loss on the validation set decides: a better one is kept
as the best model, ``patience`` epochs without improvement stop the training, and the best model is returned
(Prechelt 1998's early stopping).

Refinement: a validation loss that has stopped improving at one step size may still improve at a smaller one, from
the best state rather than from where Adam wandered since. So early stopping first restarts ``refinements`` times:
from the best model, with a fresh Adam at a tenth of the previous step size, for up to ``patience`` more epochs each.
(A schedule that shrinks the step on every plateau instead stops too early when the validation loss is noisy.)

Fresh noise: with ``draw(key, batch) -> batch`` every training batch is redrawn before its step, its key given by the
settings' seed, the epoch and the batch's position (so a resumed run draws the same). A simulator whose noise is
known (the analytical model's Poisson counts) then shows the network a new realisation of each simulation at every
epoch, and the network cannot fit the noise of one realisation (:mod:`inference.sbi.npe`). The validation set is
never redrawn: early stopping judges the network on the simulations themselves.

Checkpoint: with ``checkpoint=PATH`` the state after every epoch (best and current model, Adam's state, counters and
history) is written atomically to one file; a training given an existing checkpoint of the same models and
settings continues from it, and one of a finished training returns its best model at once (without asking for its
training data, when that is given as a function: expected XODs can take minutes to compute).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from xcosmo.checks import check_integer, check_number, fail

__all__ = ["TrainSettings", "train"]


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """How a network is trained (module docstring).

    Attributes
    ----------
    max_epochs : passes over the training set at most.
    batch_size : examples per Adam step (the last batch of an epoch may be smaller).
    learning_rate : Adam's step size; gradients are clipped to a global norm of 1.
    patience : epochs without a better validation loss before stopping (or refining).
    refinements : restarts from the best model at a tenth of the step size before stopping (module docstring).
    seed : seeds the order of the examples.
    """

    max_epochs: int = 300
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 20
    refinements: int = 1
    seed: int = 0

    def __post_init__(self):
        for name in ("max_epochs", "batch_size", "patience"):
            object.__setattr__(self, name, check_integer(f"TrainSettings.{name}", getattr(self, name), 1))
        object.__setattr__(self, "refinements", check_integer("TrainSettings.refinements", self.refinements, 0))
        object.__setattr__(self, "seed", check_integer("TrainSettings.seed", self.seed, 0, 2**32))
        object.__setattr__(self, "learning_rate", check_number("TrainSettings.learning_rate", self.learning_rate,
                                                               0.0, 1.0, open=True))  # fmt: skip


def _mean_loss(loss, params, static, data: tuple, batch_size: int) -> float:
    n = data[0].shape[0]
    total = 0.0
    for a in range(0, n, batch_size):
        batch = tuple(x[a:a + batch_size] for x in data)
        total += float(loss(eqx.combine(params, static), batch)) * batch[0].shape[0]
    return total / n


def train(model: Any, loss: Callable, train_data: tuple | Callable[[], tuple], validation_data: tuple,
          settings: TrainSettings | None = None, *, draw: Callable | None = None,
          checkpoint: str | os.PathLike | None = None, progress: bool = False,
          desc: str = "training") -> tuple[Any, list[dict]]:  # fmt: skip
    """Train ``model`` (an equinox module) on ``loss`` (module docstring); returns the best model and the history, one
    ``{"epoch", "train", "validation", "learning_rate", "wall_s"}`` per epoch (mean losses). ``train_data``: the
    arrays, or a function returning them, called only if there is training left to do."""
    import jax
    import optax
    from tqdm.auto import tqdm

    settings = TrainSettings() if settings is None else settings
    params, static = eqx.partition(model, eqx.is_inexact_array)
    # the step size lives in Adam's state, so one compiled step serves every refinement
    optimiser = optax.chain(optax.clip_by_global_norm(1.0), optax.inject_hyperparams(optax.adam)(settings.learning_rate))

    def fresh_adam(p, refinement: int):
        opt_state = optimiser.init(p)
        opt_state[1].hyperparams["learning_rate"] = jnp.asarray(settings.learning_rate * 0.1**refinement)
        return opt_state

    state = {"best": params, "current": params, "opt": fresh_adam(params, 0)}
    info = {"epoch": 0, "best_validation": math.inf, "waited": 0, "refinement": 0, "history": [], "done": False,
            "settings": dataclasses.asdict(settings), "desc": desc}  # fmt: skip
    if checkpoint is not None and Path(checkpoint).is_file():
        state, info = _load(checkpoint, state, settings, desc)
    if info["done"]:
        return eqx.combine(state["best"], static), info["history"]
    train_data = train_data() if callable(train_data) else train_data
    n, n_val = train_data[0].shape[0], validation_data[0].shape[0]
    if n == 0 or n_val == 0:
        fail("training data", f"{n} training and {n_val} validation examples", "at least one of each")

    @eqx.filter_jit
    def step(p, opt_state, batch, key):
        if draw is not None:
            batch = draw(key, batch)
        value, grads = eqx.filter_value_and_grad(lambda q: loss(eqx.combine(q, static), batch))(p)
        updates, opt_state = optimiser.update(grads, opt_state, p)
        return eqx.apply_updates(p, updates), opt_state, value

    eval_loss = eqx.filter_jit(loss)
    bar = tqdm(range(info["epoch"], settings.max_epochs), desc=desc, disable=not progress, initial=info["epoch"],
               total=settings.max_epochs)  # fmt: skip
    root = jax.random.key(settings.seed)
    for epoch in bar:
        t0 = time.perf_counter()
        epoch_key = jax.random.fold_in(root, epoch)
        order = np.random.default_rng([settings.seed, epoch]).permutation(n)
        p, opt_state, total = state["current"], state["opt"], 0.0
        for a in range(0, n, settings.batch_size):
            idx = order[a:a + settings.batch_size]
            batch = tuple(jnp.asarray(x[idx]) for x in train_data)
            key = None if draw is None else jax.random.fold_in(epoch_key, a)
            p, opt_state, value = step(p, opt_state, batch, key)
            total += float(value) * idx.size
        validation = _mean_loss(eval_loss, p, static, validation_data, 4 * settings.batch_size)
        state = {**state, "current": p, "opt": opt_state}
        if validation < info["best_validation"]:
            state["best"], info["best_validation"], info["waited"] = p, validation, 0
        else:
            info["waited"] += 1
        info["epoch"] = epoch + 1
        info["history"].append({"epoch": epoch + 1, "train": total / n, "validation": validation,
                                "learning_rate": settings.learning_rate * 0.1 ** info["refinement"],
                                "wall_s": time.perf_counter() - t0})  # fmt: skip
        if info["waited"] >= settings.patience and info["refinement"] < settings.refinements:
            info["refinement"] += 1
            info["waited"] = 0
            state = {**state, "current": state["best"], "opt": fresh_adam(state["best"], info["refinement"])}
        info["done"] = info["waited"] >= settings.patience or info["epoch"] >= settings.max_epochs
        if checkpoint is not None:
            _save(checkpoint, state, info)
        bar.set_postfix(train=f"{total / n:.4g}", validation=f"{validation:.4g}")
        if info["done"]:
            break
    return eqx.combine(state["best"], static), info["history"]


def _save(path, state: dict, info: dict) -> None:
    """One file: a JSON line of the counters and history, then the leaves of the models and optimiser state."""
    from xcosmo.io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(json.dumps(info).encode() + b"\n")
        eqx.tree_serialise_leaves(f, state)


def _load(path, skeleton: dict, settings: TrainSettings, desc: str) -> tuple[dict, dict]:
    try:
        with open(path, "rb") as f:
            info = json.loads(f.readline())
            state = eqx.tree_deserialise_leaves(f, skeleton)
    except Exception as err:  # a truncated file, or the leaves of another network
        raise ValueError(f"checkpoint {str(path)!r} cannot be resumed ({type(err).__name__}: {err}): it is from "
                         "another network or damaged; remove it to train from scratch") from None  # fmt: skip
    if info.get("desc") != desc or info.get("settings") != dataclasses.asdict(settings):
        raise ValueError(f"checkpoint {str(path)!r} is of another training ({info.get('desc')!r} with settings "
                         f"{info.get('settings')}, not {desc!r} with {dataclasses.asdict(settings)}): remove it or "
                         "train into another folder")  # fmt: skip
    return state, info
