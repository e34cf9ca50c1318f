"""Our MDN NPE against the ``sbi`` package's, on the same compressed training set (issue 18's peer comparison).

Both estimate q(z | y): z the parameters' standard normal coordinates (the prior is N(0, I) there,
:attr:`inference.sbi.SBIDataset.normal`), y the statistic of a trained compressor. The statistics come from
``--npe`` (an ``npe.eqx`` written by ``xcosmo sbi train`` or :func:`inference.sbi.fit_npe`) applied to every XOD of
``--store`` (the campaign it was trained on), and the splits are the ones recorded in its metadata:

- ours: the posterior of ``--npe`` as trained (its training time from the metadata's history). With the MSE
  compressor that is an MDN trained on the statistics of a shuffle of the training and validation XODs
  (:func:`inference.sbi.mdn_split`), like sbi's: the like-for-like comparison. With VMIM it is the
  MDN trained jointly with the compressor, and the time reported is the joint training's;
- sbi: ``sbi.inference.NPE`` with ``posterior_nn(model="mdn", num_components=10)`` (the paper's 10 full-covariance
  components), prior N(0, I), trained on the same training and validation XODs (sbi holds out its own validation
  fraction of them, of the same relative size) with its default early stopping; timed here.

Printed: the mean held-out ln q(z_true | y) of both on the test split (nats; higher is better), their difference
with its standard error, and both training times. Goal: ours at least as good.

Needs the optional ``peers`` extra (``pip install -e '.[peers]'``: sbi with CPU torch). Run: ``python
bench/sbi_peer.py --npe DIR/npe.eqx --store STORE`` (minutes on a 2-core CPU for 2e4 XODs).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np


def statistics(post, data, batch: int = 4096) -> np.ndarray:
    return np.concatenate([np.asarray(post.statistics(data.counts[i : i + batch]))
                           for i in range(0, data.n, batch)])  # fmt: skip


def train_sbi(y: np.ndarray, z: np.ndarray, validation_fraction: float, seed: int):
    import torch
    from sbi.inference import NPE
    from sbi.neural_nets import posterior_nn
    from torch.utils.tensorboard import SummaryWriter

    torch.manual_seed(seed)
    p = z.shape[1]
    prior = torch.distributions.MultivariateNormal(torch.zeros(p), torch.eye(p))
    # sbi logs to TensorBoard, by default into ./sbi-logs: keep the working folder clean
    logs = SummaryWriter(log_dir=tempfile.mkdtemp(prefix="sbi-logs-"))
    inference = NPE(prior=prior, density_estimator=posterior_nn(model="mdn", num_components=10), summary_writer=logs,
                    show_progress_bars=False)  # fmt: skip
    inference.append_simulations(torch.as_tensor(z, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32))
    t0 = time.perf_counter()
    estimator = inference.train(validation_fraction=validation_fraction, show_train_summary=False)
    return estimator, time.perf_counter() - t0


def sbi_log_prob(estimator, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = estimator.log_prob(torch.as_tensor(z, dtype=torch.float32)[None],
                                 condition=torch.as_tensor(y, dtype=torch.float32))  # fmt: skip
    return out.numpy().reshape(-1).astype(np.float64)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--npe", required=True, help="npe.eqx of a trained NPE")
    parser.add_argument("--store", required=True, help="the campaign store it was trained on")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import sbi  # noqa: F401
    except ImportError:
        raise SystemExit("this comparison needs the sbi package: pip install -e '.[peers]'") from None
    import jax
    import jax.numpy as jnp

    from inference.sbi import SBIDataset, load_npe

    post = load_npe(args.npe)
    data = SBIDataset.from_store(args.store)
    splits = data.splits(post.meta["settings"]["split_seed"])
    y = statistics(post, data)
    z = data.normal
    fit = np.concatenate([splits["train"], splits["validation"]])
    estimator, sbi_s = train_sbi(y[fit], z[fit], len(splits["validation"]) / len(fit), args.seed)
    te = splits["test"]
    pair = jax.vmap(lambda zi, yi: post.log_prob_normal(zi[None], yi)[0])  # ln q(z_i | y_i), each XOD's own y
    ours = np.asarray(pair(jnp.asarray(z[te]), jnp.asarray(y[te])), np.float64)
    theirs = sbi_log_prob(estimator, z[te], y[te])
    diff = ours - theirs
    history = post.meta["history"]["mdn"] or [post.meta["history"]["compressor"]]
    ours_s = sum(e["wall_s"] for member in history for e in member)
    print(f"{len(fit)} training + validation XODs, {len(te)} test XODs, statistic of dimension {y.shape[1]}")
    print(f"mean test ln q(z_true | y): ours {ours.mean():.3f}, sbi {theirs.mean():.3f} nats; ours - sbi "
          f"{diff.mean():+.3f} +- {diff.std(ddof=1) / np.sqrt(len(te)):.3f}")
    print(f"MDN training: ours {ours_s:.0f} s ({len(history)} member(s)), sbi {sbi_s:.0f} s")


if __name__ == "__main__":
    main()
