"""Neural compression of an XOD into one number per parameter (paper 3.1).

The paper's network: residual blocks (He et al. 2015) of convolutions over the (CR, HR) plane, the XOD's redshift bins
as image channels, then a multi-layer perceptron; "4 ResNet blocks (3 convolution layers each) followed by one MLP (3
dense layers)", with the six outputs regressed on the six parameters by mean squared error.

Each block maps h to ReLU(h + C3(ReLU(C2(ReLU(C1(h)))))), three 3 x 3 convolutions with zero padding, so the
(CR, HR) plane keeps its size; a 1 x 1 convolution adapts h where the block changes the number of channels. The last
block's map is flattened into the MLP.

Two ways to train it (:mod:`inference.sbi.training`), by ``loss``:

- ``"mse"``: the paper's: the outputs regress the unit-cube parameters u (:mod:`inference.sbi.dataset`), loss
  mean_j (y_j - u_j)^2. Its optimum is the posterior mean E[u | x], a good summary, but the paper attributes its
  biased Omega_m posteriors to it (appendix A; Jeffrey et al. 2020, Lanzieri et al. 2024);
- ``"vmim"``: variational mutual-information maximisation (Jeffrey et al. 2020, eq. 7): the compressor is trained
  jointly with a conditional density estimator q(u | y) (a :class:`inference.sbi.mdn.MDN`) on -ln q(u | y(x)), a
  lower bound of the mutual information I(u; y) up to the prior's entropy. The statistic keeps whatever the XOD says
  about u, not only its mean.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax

__all__ = ["ResidualBlock", "Compressor", "LOSSES"]

LOSSES = ("mse", "vmim")
"""The compressor's training losses (module docstring)."""


class ResidualBlock(eqx.Module):
    """h -> ReLU(h + C3(ReLU(C2(ReLU(C1(h)))))) with 3 x 3 convolutions ``convs`` (same size, zero padding), and a
    1 x 1 convolution ``skip`` on h where the channels change."""

    convs: tuple[eqx.nn.Conv2d, ...]
    skip: eqx.nn.Conv2d | None

    def __init__(self, in_channels: int, out_channels: int, *, key: jax.Array, n_convs: int = 3):
        keys = jax.random.split(key, n_convs + 1)
        channels = [in_channels] + [out_channels] * n_convs
        self.convs = tuple(eqx.nn.Conv2d(a, b, 3, padding=1, key=k) for a, b, k in zip(channels[:-1], channels[1:], keys))
        self.skip = None if in_channels == out_channels else eqx.nn.Conv2d(in_channels, out_channels, 1, key=keys[-1])

    def __call__(self, h: jax.Array) -> jax.Array:
        out = h
        for i, conv in enumerate(self.convs):
            out = conv(out)
            if i < len(self.convs) - 1:
                out = jax.nn.relu(out)
        return jax.nn.relu(out + (h if self.skip is None else self.skip(h)))


class Compressor(eqx.Module):
    """XOD (n_z, n_cr, n_hr), normalised (:class:`inference.sbi.dataset.XODScale`) -> statistic y (n_out,).

    ``channels`` are the output channels of the residual blocks (the paper: four blocks); the MLP has ``mlp_depth``
    hidden layers of ``mlp_width`` (the paper: three dense layers, ``mlp_depth = 2``). With ``loss = "mse"`` the
    output goes through a sigmoid, as the unit-cube targets lie in [0, 1].
    """

    blocks: tuple[ResidualBlock, ...]
    mlp: eqx.nn.MLP
    loss: str = eqx.field(static=True)

    def __init__(self, xod_shape: tuple[int, int, int], n_out: int, *, key: jax.Array, loss: str = "mse",
                 channels: tuple[int, ...] = (16, 32, 32, 32), mlp_width: int = 128, mlp_depth: int = 2):  # fmt: skip
        from xcosmo.checks import check_choice

        self.loss = check_choice("loss", loss, LOSSES)
        k_blocks, k_mlp = jax.random.split(key)
        keys = jax.random.split(k_blocks, len(channels))
        ins = [xod_shape[0], *channels[:-1]]
        self.blocks = tuple(ResidualBlock(a, b, key=k) for a, b, k in zip(ins, channels, keys))
        flat = channels[-1] * math.prod(xod_shape[1:])
        self.mlp = eqx.nn.MLP(flat, n_out, mlp_width, mlp_depth, activation=jax.nn.relu, key=k_mlp)

    def __call__(self, x: jax.Array) -> jax.Array:
        h = x
        for block in self.blocks:
            h = block(h)
        y = self.mlp(h.reshape(-1))
        return jax.nn.sigmoid(y) if self.loss == "mse" else y
