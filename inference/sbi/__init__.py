"""Simulation-based inference from XODs (paper 3, appendix A): neural compression, neural posterior estimation with a
mixture density network, and the diagnostics of its calibration.

- :mod:`~inference.sbi.dataset`: a campaign's simulations, normalised and split;
- :mod:`~inference.sbi.compressor`: the ResNet compressor (MSE or VMIM);
- :mod:`~inference.sbi.mdn`: the mixture density network;
- :mod:`~inference.sbi.training`: the training loop (early stopping, resumable checkpoints);
- :mod:`~inference.sbi.npe`: the pipeline and the amortised posterior.
"""

from inference.sbi.dataset import SBIDataset, XODScale, other_seeds, split_indices
from inference.sbi.npe import NPEPosterior, NPESettings, fit_npe, load_npe, mdn_split, poisson_resampler
from inference.sbi.training import TrainSettings

__all__ = ["SBIDataset", "XODScale", "other_seeds", "split_indices", "NPEPosterior", "NPESettings", "fit_npe",
           "load_npe", "mdn_split", "poisson_resampler", "TrainSettings"]
