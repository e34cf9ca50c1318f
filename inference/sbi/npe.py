"""Neural posterior estimation from XODs (paper 3): compress, then learn q(theta | y), amortised over every new XOD.

:func:`fit_npe` runs the paper's steps on a campaign's :class:`inference.sbi.dataset.SBIDataset`:

1. split the simulations 32 : 4 : 4 : 8 (train, validation, test, held out for inference);
2. summarise the XODs (the full XOD by default, or one of its marginals of paper table 3:
   :mod:`inference.sbi.summaries`) and normalise them by the training split (:class:`inference.sbi.dataset.XODScale`);
3. train the compressor (:class:`inference.sbi.compressor.Compressor`) on the training split, early stopping on the
   validation split, by MSE regression (the paper) or VMIM (unbiased; module :mod:`inference.sbi.compressor`);
4. the posterior q(z | y), a mixture density network (:class:`inference.sbi.mdn.MDN`, 10 components) of the
   parameters' standard normal coordinates z = Phi^-1(u) (:attr:`inference.sbi.dataset.SBIDataset.normal`) given the
   compressed statistic y. With VMIM it is the MDN trained jointly with the compressor: that is what the VMIM loss
   fits, and an MDN fitted afterwards to the training statistics learns from a compressor fitted to those very
   examples (it did worse on the test split: mean ln q lower by 0.13-0.17 nats, 13 000 analytical XODs). With MSE,
   an MDN is trained on the compressed statistics of a shuffle of the training and validation splits, early stopping
   on as many of them as the validation split holds (:func:`mdn_split`). With ``ensemble > 1``,
   ``ensemble - 1`` more MDNs (VMIM) or ``ensemble`` MDNs (MSE) are trained so from different seeds, and all are
   mixed with weights proportional to exp(mean validation ln q) (sbi's ensemble rule, a softmax of the validation
   log-likelihoods), each member's on the examples that validated it.

Poisson resampling (``poisson_resampling=True``, simulators with expected XODs: the analytical and the
emulated-relation models): every training epoch sees a new Poisson draw of each training simulation's expected XOD
instead of the campaign's one draw (:func:`inference.sbi.training.train`'s ``draw``). Thirteen thousand fixed draws
let the compressor fit their noise (VMIM: training loss 2.6 nats against 4.2 on validation); fresh draws are as many
new simulations at the same parameters, for free. Validation, test and held-out XODs stay the campaign's draws.

The emulated-relation model's XODs have a second noise, the emulator error eps (7 numbers per simulation) inside the
expectation, which Poisson redraws keep fixed: the compressor fits it on the training simulations (its RMS residual
5-7 % smaller there than on held-out ones, 10 000 XODs) and the posterior comes out 3-7 % too narrow on new XODs
(SBC p = 0.0009 for A_SN1 on 1666 held-out XODs). With ``emulator_errors = K`` each training simulation's expected XOD
is computed under K draws of eps and every Poisson draw is of one of them picked at random. On the same data with
K = 4, one MDN per NPE still left two of three seeds with a p below 0.01 (the MDN overfits its examples: mean ln q
0.35-0.46 nats higher on them than on validation); with ``ensemble = 5`` too, the twelve NPEs of the head-to-head
study's ``cpu`` preset pass, every p >= 0.013 (README).

The result, :class:`NPEPosterior`, samples and evaluates the posterior of any XOD of the campaign's binning, in the
parameters' own units; it is saved as ``NAME.eqx`` + ``NAME.json`` (:meth:`NPEPosterior.save`, :func:`load_npe`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import ndtr, ndtri

from inference.sbi.compressor import Compressor
from inference.sbi.dataset import SBIDataset, XODScale
from inference.sbi.mdn import MDN
from inference.sbi.summaries import SUMMARIES, summarise, summary_shape
from inference.sbi.training import TrainSettings, train
from xcosmo.checks import check_bool, check_integer, check_shape, check_type, fail

__all__ = ["NPESettings", "NPEPosterior", "fit_npe", "load_npe", "mdn_split", "poisson_resampler",
           "FORMAT_VERSION", "OUTSIDE_MARGIN"]

FORMAT_VERSION = 1
OUTSIDE_MARGIN = 0.5
"""How far, in units of the training statistics' range, a statistic may lie outside that range before
:meth:`NPEPosterior.check_statistic` refuses its XOD."""


@dataclasses.dataclass(frozen=True)
class NPESettings:
    """The compressor's and the MDN's architectures and trainings (defaults: the paper's architecture where it says).

    Attributes
    ----------
    loss : the compressor's loss, ``"mse"`` (the paper's) or ``"vmim"``.
    summary : what of the XOD the compressor sees, the XOD ``"z-cr-hr"`` or a marginal (``"cr-hr"``, ``"z-cr"``,
        ``"z"``: :data:`inference.sbi.summaries.SUMMARIES`, paper table 3).
    channels, mlp_width, mlp_depth : the compressor (:class:`~inference.sbi.compressor.Compressor`).
    statistic_size : the length of the compressed statistic with ``loss = "vmim"`` (None: the number of parameters;
        the MSE statistic is the regressed parameters, so it has that length).
    n_components, mdn_width, mdn_depth : the MDN (:class:`~inference.sbi.mdn.MDN`).
    ensemble : MDNs trained from different seeds and mixed by their validation log-likelihoods.
    poisson_resampling : train on fresh Poisson draws of the training simulations' expected XODs (module docstring).
    emulator_errors : with ``poisson_resampling``, each training simulation's expected XOD under this many draws of
        the emulator error (the campaign's and ``emulator_errors - 1`` others: :meth:`SBIDataset.expected`), one of
        them picked at random for every Poisson draw (module docstring); more than 1 only for a campaign of the
        emulated-relation model.
    compressor_training, mdn_training : :class:`~inference.sbi.training.TrainSettings`.
    split_seed : seeds the split of the simulations.
    seed : seeds the networks' initial weights.
    """

    loss: str = "vmim"
    summary: str = "z-cr-hr"
    channels: tuple[int, ...] = (16, 32, 32, 32)
    mlp_width: int = 128
    mlp_depth: int = 2
    statistic_size: int | None = None
    n_components: int = 10
    mdn_width: int = 64
    mdn_depth: int = 2
    ensemble: int = 1
    poisson_resampling: bool = False
    emulator_errors: int = 1
    compressor_training: TrainSettings = TrainSettings()
    mdn_training: TrainSettings = TrainSettings(learning_rate=3e-3)
    split_seed: int = 0
    seed: int = 0

    def __post_init__(self):
        from inference.sbi.compressor import LOSSES
        from xcosmo.checks import check_choice

        check_choice("NPESettings.loss", self.loss, LOSSES)
        check_choice("NPESettings.summary", self.summary, tuple(SUMMARIES))
        for name in ("mlp_width", "mlp_depth", "n_components", "mdn_width", "mdn_depth", "ensemble", "emulator_errors"):
            object.__setattr__(self, name, check_integer(f"NPESettings.{name}", getattr(self, name), 1))
        object.__setattr__(self, "channels", tuple(check_integer("NPESettings.channels", c, 1) for c in self.channels))
        if self.statistic_size is not None:
            if self.loss != "vmim":
                fail("NPESettings.statistic_size", self.statistic_size,
                     "None with loss = 'mse' (the MSE statistic is the regressed parameters)")  # fmt: skip
            object.__setattr__(self, "statistic_size", check_integer("NPESettings.statistic_size", self.statistic_size, 1))
        object.__setattr__(self, "poisson_resampling", check_bool("NPESettings.poisson_resampling",
                                                                  self.poisson_resampling))
        if self.emulator_errors > 1 and not self.poisson_resampling:
            fail("NPESettings.emulator_errors", self.emulator_errors,
                 "1 without poisson_resampling (other emulator errors are drawn into expected XODs)")  # fmt: skip
        for name in ("compressor_training", "mdn_training"):
            check_type(f"NPESettings.{name}", getattr(self, name), TrainSettings, "an inference.sbi.TrainSettings")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "NPESettings":
        d = dict(d)
        d["channels"] = tuple(d["channels"])
        d["compressor_training"] = TrainSettings(**d["compressor_training"])
        d["mdn_training"] = TrainSettings(**d["mdn_training"])
        return cls(**d)


@dataclasses.dataclass(frozen=True)
class NPEPosterior:
    """The amortised posterior q(theta | XOD): a compressor, an ensemble of MDNs and the unit-cube transform of the
    campaign's prior.

    Attributes
    ----------
    compressor : the trained :class:`~inference.sbi.compressor.Compressor`.
    mdns : the trained :class:`~inference.sbi.mdn.MDN` (one per ensemble member).
    log_weights : (ensemble,) ln of each MDN's share of the mixture.
    scale : the input normalisation's per-redshift scale (:class:`~inference.sbi.dataset.XODScale`).
    meta : names, XOD shape, binning, simulator spec, source, settings, splits, sizes, the examples that validated
        the MDNs fitted to statistics (``mdn_validation``, :func:`mdn_split`) and training histories.
    """

    compressor: Compressor
    mdns: tuple[MDN, ...]
    log_weights: jax.Array
    scale: np.ndarray
    meta: dict

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.meta["names"])

    @property
    def xod_shape(self) -> tuple[int, ...]:
        return tuple(self.meta["xod_shape"])

    @property
    def simulator(self):
        """The campaign's simulator (its prior's unit-cube transform), rebuilt from the spec in the metadata."""
        from xcosmo.campaign.simulators import simulator_from_spec

        return simulator_from_spec(self.meta["spec"])

    def statistic(self, xod) -> jax.Array:
        """The compressed statistic y of one XOD (n_z, n_cr, n_hr) of counts."""
        xod = check_shape("xod", np.asarray(xod, np.float64), self.xod_shape,
                          " (n_z, n_cr, n_hr) of the binning these weights were trained on")  # fmt: skip
        return self.statistics(xod[None])[0]

    def statistics(self, xods) -> jax.Array:
        """The compressed statistics (n, p) of XODs (n, n_z, n_cr, n_hr) of counts."""
        xods = np.asarray(xods, np.float64)
        check_shape("xods", xods, (None, *self.xod_shape), " (n, n_z, n_cr, n_hr) of the weights' binning")
        if not np.all(np.isfinite(xods)) or np.any(xods < 0):
            fail("xods", "counts with NaN, infinite or negative values", "finite counts >= 0")
        summary = NPESettings.from_dict(self.meta["settings"]).summary
        return _compress(self.compressor, jnp.asarray(XODScale(self.scale)(summarise(xods, summary))))

    def log_prob_normal(self, z: jax.Array, y: jax.Array) -> jax.Array:
        """ln q(z | y), the ensemble's mixture, at points ``z`` (n, p) of the prior's standard normal coordinates."""
        per = jnp.stack([_log_prob(m, jnp.asarray(z), y) for m in self.mdns])  # (ensemble, n)
        return jax.nn.logsumexp(per + self.log_weights[:, None], axis=0)

    def sample_normal(self, key: jax.Array, y: jax.Array, n: int) -> np.ndarray:
        """``n`` draws (n, p) of the ensemble's mixture, in the prior's standard normal coordinates."""
        if len(self.mdns) == 1:
            return np.asarray(_sample(self.mdns[0], key, y, n))
        k_which, k_draw = jax.random.split(key)
        which = np.asarray(jax.random.categorical(k_which, self.log_weights, shape=(n,)))
        draws = [np.asarray(_sample(m, k, y, n)) for m, k in zip(self.mdns, jax.random.split(k_draw, len(self.mdns)))]
        return np.stack(draws)[which, np.arange(n)]

    def check_statistic(self, y: jax.Array, what: str = "xod") -> None:
        """Refuse (``ValueError``) a statistic outside the training statistics' range widened by
        :data:`OUTSIDE_MARGIN` of it on each side: an XOD unlike every training simulation, where the posterior is
        an extrapolation."""
        lo, hi = np.asarray(self.meta["statistic_range"]).T
        margin = OUTSIDE_MARGIN * (hi - lo)
        y = np.asarray(y)
        bad = np.flatnonzero((y < lo - margin) | (y > hi + margin))
        if bad.size:
            j = int(bad[0])
            fail(what, f"an XOD compressed to y[{j}] = {y[j]:.4g}", f"an XOD like the training simulations (their "
                 f"y[{j}] spans {lo[j]:.4g} to {hi[j]:.4g}): check its survey, binning and flux cut, or that it comes "
                 "from the campaign's simulator")  # fmt: skip

    def sample(self, xod, n: int = 10_000, *, seed: int = 0) -> dict:
        """``n`` posterior draws for one XOD: ``{"theta": (n, p) in the parameters' units, "unit": (n, p) the same in
        the prior's unit cube}``. Every draw lies inside the prior (module :mod:`inference.sbi.mdn`); an XOD unlike
        the training simulations is refused (:meth:`check_statistic`)."""
        n = check_integer("n", n, 1)
        check_integer("seed", seed, 0, 2**32)
        y = self.statistic(xod)
        self.check_statistic(y)
        unit = self.sample_statistic(y, n, seed=seed)
        return {"theta": self.simulator.from_unit(unit), "unit": unit}

    def sample_statistic(self, y: jax.Array, n: int, *, seed: int = 0) -> np.ndarray:
        """``n`` draws (n, p) in the prior's unit cube for a statistic ``y``."""
        return np.asarray(ndtr(self.sample_normal(jax.random.key(seed), y, n)))

    def log_prob(self, theta, xod) -> np.ndarray:
        """ln q(u(theta) | y(xod)): the posterior density of parameters ``theta`` (n, p), in the prior's unit-cube
        coordinates u (where the prior is uniform, so this is also ln of the posterior over the prior):
        ln q_z(z) - ln N(z; 0, I) with z = Phi^-1(u). ``ValueError`` for a theta outside the prior, naming it."""
        theta = check_shape("theta", np.asarray(theta, np.float64), (None, len(self.names)), f" {self.names}")
        unit = np.asarray(self.simulator.to_unit(theta))
        outside = ~((unit > 0) & (unit < 1))
        if outside.any():
            row, col = np.argwhere(outside)[0]
            fail(self.names[col], float(theta[row, col]), "a value inside the prior the posterior was trained on")
        y = self.statistic(xod)
        self.check_statistic(y)
        z = ndtri(unit)
        log_normal = -0.5 * np.sum(z**2, axis=1) - 0.5 * z.shape[1] * np.log(2 * np.pi)
        return np.asarray(self.log_prob_normal(jnp.asarray(z), y)) - log_normal

    def posterior_dataset(self, xod, n: int = 10_000, *, seed: int = 0):
        """:meth:`sample` as an ArviZ-compatible ``xarray.Dataset`` (one chain, ``n`` draws, one variable per
        parameter), with the training's provenance in its attributes."""
        import xarray as xr

        out = self.sample(xod, n, seed=seed)
        data = {name: (("chain", "draw"), out["theta"][None, :, i]) for i, name in enumerate(self.names)}
        return xr.Dataset(data, coords={"chain": [0], "draw": np.arange(n)},
                          attrs={"inference_library": "xcosmo.inference.sbi (NPE)", "loss": self.meta["settings"]["loss"], "n_train": self.meta["sizes"]["train"],
                                 "source": self.meta["source"]})  # fmt: skip

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``path`` (.eqx, the weights) and its metadata beside it (.json, with their SHA-256), atomically
        (:func:`xcosmo.weights.save_weights`)."""
        from xcosmo.weights import save_weights

        return save_weights((self.compressor, self.mdns, self.log_weights), path,
                            {**self.meta, "scale": self.scale.tolist()}, format_version=FORMAT_VERSION)  # fmt: skip


@eqx.filter_jit
def _compress(compressor: Compressor, x: jax.Array) -> jax.Array:
    return jax.vmap(compressor)(x)


@eqx.filter_jit
def _log_prob(mdn: MDN, z: jax.Array, y: jax.Array) -> jax.Array:
    return jax.vmap(lambda zi: mdn.log_prob(zi, y))(z)


@eqx.filter_jit
def _sample(mdn: MDN, key: jax.Array, y: jax.Array, n: int) -> jax.Array:
    return mdn.sample(key, y, n)


def _skeleton(meta: dict) -> tuple[Compressor, tuple[MDN, ...]]:
    s = NPESettings.from_dict(meta["settings"])
    p = len(meta["names"])
    key = jax.random.key(s.seed)
    q = s.statistic_size or p
    compressor = Compressor(summary_shape(tuple(meta["xod_shape"]), s.summary), q, key=key, loss=s.loss, channels=s.channels,
                            mlp_width=s.mlp_width, mlp_depth=s.mlp_depth)  # fmt: skip
    mdns = tuple(MDN(q, p, key=jax.random.fold_in(key, i), n_components=s.n_components, width=s.mdn_width,
                     depth=s.mdn_depth) for i in range(s.ensemble))  # fmt: skip
    return compressor, mdns


def load_npe(path: str | os.PathLike, *, binning: dict | None = None) -> NPEPosterior:
    """The posterior saved at ``path`` (.eqx or .json); refuses a file of another format, a damaged one (SHA-256), and
    with ``binning`` (a store's ``{"survey", "binning"}`` attributes) weights trained on another survey or binning."""
    from xcosmo.weights import load_weights, read_weights_meta

    path, meta = read_weights_meta(path, what="NPE", format_version=FORMAT_VERSION, required=("settings", "scale"),
                                   remedy="train them again with xcosmo sbi train")  # fmt: skip
    if binning is not None and json.loads(json.dumps(binning)) != meta["binning"]:
        raise ValueError(f"NPE weights {str(path)!r} were trained on XODs of another survey or binning "
                         f"({meta['binning']}), not {binning}: train them on this campaign")
    compressor, mdns = _skeleton(meta)
    compressor, mdns, log_weights = load_weights(path, (compressor, mdns, jnp.zeros(len(mdns))), what="NPE")
    scale = np.asarray(meta.pop("scale"))
    return NPEPosterior(compressor, mdns, log_weights, scale, meta)


def _vmim_loss(model: tuple[Compressor, MDN], batch) -> jax.Array:
    compressor, mdn = model
    x, z = batch
    return -jnp.mean(jax.vmap(lambda xi, zi: mdn.log_prob(zi, compressor(xi)))(x, z))


def _mse_loss(compressor: Compressor, batch) -> jax.Array:
    x, u = batch
    return jnp.mean((jax.vmap(compressor)(x) - u) ** 2)


def _mdn_loss(mdn: MDN, batch) -> jax.Array:
    y, z = batch
    return -jnp.mean(jax.vmap(mdn.log_prob)(z, y))


def poisson_resampler(scale: XODScale):
    """The ``draw`` of :func:`inference.sbi.training.train` for Poisson resampling (module docstring): a batch
    ``(lam, *rest)`` of expected XODs ``lam`` (b, K, ...), K per simulation (its emulator errors), becomes
    ``(x, *rest)``, x the normalised Poisson draw of one of each simulation's K expectations picked at random."""

    def draw(key, batch):
        lam, *rest = batch
        k_pick, k_poisson = jax.random.split(key)
        pick = jax.random.randint(k_pick, (lam.shape[0],), 0, lam.shape[1])
        lam = lam[jnp.arange(lam.shape[0]), pick]
        return (scale.traced(jax.random.poisson(k_poisson, lam).astype(lam.dtype)), *rest)

    return draw


def mdn_split(train: np.ndarray, validation: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The examples an MDN fitted to compressed statistics trains and early-stops on (module docstring, step 4): a
    shuffle of the compressor's training and validation examples, of which ``len(validation)`` validate.

    The compressor's statistics of its own training examples are tighter than those of any new XOD; an MDN that sees
    only them is over-confident on the test split, and early stopping on the compressor's validation examples alone
    does not cure it (MSE statistics of 13 335 analytical XODs: mean test ln q 0.15 nats lower than with this split,
    which matches the ``sbi`` package's MDN on the same statistics: ``bench/sbi_peer.py``)."""
    mixed = np.random.default_rng(seed).permutation(np.concatenate([train, validation]))
    return mixed[len(validation) :], mixed[: len(validation)]


def fit_npe(data: SBIDataset, settings: NPESettings | None = None, *, out: str | os.PathLike | None = None,
            progress: bool = False) -> NPEPosterior:  # fmt: skip
    """Train the compressor and the MDN(s) on ``data`` (module docstring); with ``out`` (a folder) the trainings
    checkpoint there and resume from it, and the posterior is saved as ``out/npe.eqx``."""
    check_type("data", data, SBIDataset, "an inference.sbi.SBIDataset (SBIDataset.from_store(path))")
    settings = NPESettings() if settings is None else settings
    if settings.emulator_errors > 1 and not data.expected_depends_on_seed:
        fail("NPESettings.emulator_errors", settings.emulator_errors,
             f"1 for a campaign of {data.spec.get('name')!r}, whose expected XODs have no emulator error to "
             "redraw")  # fmt: skip
    splits = data.splits(settings.split_seed)
    counts = summarise(data.counts, settings.summary)
    scale = XODScale.fit(counts[splits["train"]])
    x = scale(counts)
    tr, va = splits["train"], splits["validation"]

    def x_train():  # only called if the compressor has training left (a resumed one may be finished)
        if not settings.poisson_resampling:
            return x[tr]
        # a sum of Poisson counts is a Poisson draw of the summed expectations: each summary redraws alike
        return np.stack([summarise(data.expected(tr, error=k, progress=progress), settings.summary)
                         for k in range(settings.emulator_errors)], axis=1).astype(np.float32)  # fmt: skip

    draw = poisson_resampler(scale) if settings.poisson_resampling else None
    u = data.unit.astype(np.float32)
    z = data.normal.astype(np.float32)
    p = u.shape[1]
    folder = None if out is None else Path(out)
    if folder is not None:
        from xcosmo.io import ensure_writable_dir

        ensure_writable_dir(folder)
    ckpt = (lambda name: None) if folder is None else (lambda name: folder / f"{name}.ckpt")
    key = jax.random.key(settings.seed)
    xod_shape = data.counts.shape[1:]
    compressor, mdns = _skeleton({"settings": settings.as_dict(), "names": data.names, "xod_shape": xod_shape})
    head = None
    if settings.loss == "vmim":
        (compressor, head), c_history = train((compressor, mdns[0]), _vmim_loss, lambda: (x_train(), z[tr]),
                                           (x[va], z[va]), settings.compressor_training, draw=draw,
                                           checkpoint=ckpt("compressor"), progress=progress,
                                           desc="compressor (vmim)")  # fmt: skip
    else:
        compressor, c_history = train(compressor, _mse_loss, lambda: (x_train(), u[tr]), (x[va], u[va]),
                                      settings.compressor_training, draw=draw, checkpoint=ckpt("compressor"),
                                      progress=progress, desc="compressor (mse)")  # fmt: skip
    y = np.asarray(jax.jit(jax.vmap(compressor))(jnp.asarray(x)))
    m_tr, m_va = mdn_split(tr, va, settings.split_seed)
    trained, histories = ([] if head is None else [head]), []
    for i in range(len(trained), settings.ensemble):
        mdn = MDN(y.shape[1], p, key=jax.random.fold_in(key, 1000 + i), n_components=settings.n_components,
                  width=settings.mdn_width, depth=settings.mdn_depth).with_standardisation(y[m_tr])  # fmt: skip
        mdn, h = train(mdn, _mdn_loss, (y[m_tr], z[m_tr]), (y[m_va], z[m_va]),
                       dataclasses.replace(settings.mdn_training, seed=settings.mdn_training.seed + i),
                       checkpoint=ckpt(f"mdn{i}"), progress=progress, desc=f"mdn {i}")  # fmt: skip
        trained.append(mdn)
        histories.append(h)
    validated_on = [va] * (head is not None) + [m_va] * len(histories)  # each member's own validation examples
    val_logq = [-float(_mdn_loss(m, (jnp.asarray(y[v]), jnp.asarray(z[v])))) for m, v in zip(trained, validated_on)]
    log_weights = jax.nn.log_softmax(jnp.asarray(val_logq))
    meta = {"names": list(data.names), "xod_shape": list(xod_shape), "spec": data.spec, "binning": data.binning,
            "source": data.source, "settings": settings.as_dict(),
            "splits": {k: data.index[v].tolist() for k, v in splits.items()},
            "sizes": {k: int(v.size) for k, v in splits.items()},
            "mdn_validation": data.index[np.sort(m_va)].tolist(),
            "statistic_range": np.stack([y[tr].min(axis=0), y[tr].max(axis=0)], axis=1).tolist(),
            "history": {"compressor": c_history, "mdn": histories}, "validation_log_q": val_logq}  # fmt: skip
    posterior = NPEPosterior(compressor, tuple(trained), log_weights, scale.scale, meta)
    if folder is not None:
        posterior.save(folder / "npe.eqx")
    return posterior
