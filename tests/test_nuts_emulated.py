"""Acceptance of issue 20: NUTS (numpyro and blackjax) on an Asimov XOD of the emulated-relation model at a
non-fiducial point, with the shipped scaling-relation emulator.

Slow: ``pytest -m slow tests/test_nuts_emulated.py``. The sampler as ``run_nuts`` configures it by default (NeuTra,
dense mass, target acceptance 0.97), 4 chains x (1000 + 1000), the emulator's errors marginalised. Checks: no divergent
transition, R-hat < 1.01, every parameter's posterior mean within 1 sigma of the truth, and the posterior widths of
the six parameters within 25% of the Fisher errors of the same model (emulator errors marginalised in both).
"""

import numpy as np
import pytest

from emulators.scaling.emulator import PRETRAINED, load_emulator
from inference.emulated import asimov_data, emulated_fisher, numpyro_model
from inference.mcmc import run_nuts, summary
from xcosmo.emulated import EmulatedRelationModel
from xcosmo.params import PARAM_NAMES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PRETRAINED.is_file(), reason="no scaling-relation emulator shipped yet (xcosmo scaling fit "
                       "--ship)"),  # fmt: skip
]

TRUTH = np.array([0.33, 0.78, 1.6, 0.8, 0.7, 1.3])
"""A point away from the fiducial, inside the prior."""


@pytest.mark.parametrize("backend", ["numpyro", "blackjax"])
def test_nuts_recovers_a_non_fiducial_point(backend):
    forward = EmulatedRelationModel.build(load_emulator(PRETRAINED)[0])
    data = asimov_data(forward, TRUTH)
    tree = run_nuts(numpyro_model, data, backend=backend, num_warmup=1000, num_samples=1000, num_chains=4, seed=3,
                    progress=False, forward=forward)  # fmt: skip
    result = summary(tree, list(PARAM_NAMES))
    fisher = emulated_fisher(forward, TRUTH).marginalise(PARAM_NAMES)
    print(backend, {k: v for k, v in result.items() if k != "variables"})
    assert result["num_divergences"] == 0
    assert result["r_hat_max"] < 1.01
    for name, truth, err in zip(PARAM_NAMES, TRUTH, fisher.marginal_errors):
        v = result["variables"][name]
        print(f"{backend} {name}: {v['mean']:.4g} +- {v['std']:.3g} (Fisher {err:.3g}), truth {truth:.4g}")
        assert abs(v["mean"] - truth) < v["std"], name
        assert 0.75 < v["std"] / err < 1.25, (name, v["std"] / err)
