"""Acceptance of issues 4 and 22: NUTS (numpyro and blackjax) on XODs of the analytical model, at several seeds.

Slow (about 7 minutes per case on a 2-core CPU, 12 cases): run with ``pytest -m slow tests/test_nuts_analytic.py``.
The sampler as ``run_nuts`` and the CLI configure it by default (dense mass matrix, target acceptance 0.97, in the
latent space of a flow fitted to the posterior and checked, :mod:`inference.neutra`), with 4 chains x (1000 warm-up +
1000 draws): half the default draws, enough for the checks below (R-hat, means and widths), in less time.

Cases: the Asimov XOD at NUTS seeds 3, 5 and 7 (not 0 and 1, at which the settings were chosen; 7 is the seed whose
flow was poor before flows were checked by their Pareto k), and three Poisson XODs (draws 0, 1 and 2 of the
fiducial expectation) at NUTS seed 2. Every case: no divergent transition, R-hat < 1.01, the widths of Omega_m and
sigma_8 within 25% of the Fisher errors. Recovery: on the Asimov XOD the posterior mean of every parameter within
1 sigma of the fiducial; on a Poisson XOD the posterior itself moves by about one sigma with the noise (a parameter
is within 1 sigma of the truth for 68% of the draws), so there within 3 sigma (99.7% for each parameter).
``XCOSMO_KEEP_CHAINS=1`` keeps the chains in /tmp.
"""

import os

import jax
import pytest

from inference.fisher import analytic_fisher
from inference.likelihood import (
    asimov_data,
    default_forward,
    nuisance_prior_sigma_phi,
    numpyro_model,
    poisson_draw,
)
from inference.mcmc import corner_plot, run_nuts, save_chains, summary
from xcosmo.analytic import PHI_NAMES, fiducial_phi

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fisher():
    return analytic_fisher(default_forward(), prior_sigma=nuisance_prior_sigma_phi())


CASES = [("asimov", 3), ("asimov", 5), ("asimov", 7), ("poisson-0", 2), ("poisson-1", 2), ("poisson-2", 2)]
"""(XOD, NUTS seed): the Asimov XOD or the k-th Poisson draw of it (``poisson-<k>``)."""


def xod(name: str, forward):
    lam = asimov_data(forward=forward)
    if name == "asimov":
        return lam, 1.0
    return poisson_draw(jax.random.key(int(name.split("-")[1])), lam), 3.0


@pytest.mark.parametrize(("data_name", "seed"), CASES)
@pytest.mark.parametrize("backend", ["numpyro", "blackjax"])
def test_nuts_recovers_the_fiducial(backend, data_name, seed, fisher, tmp_path_factory):
    forward = default_forward()
    data, n_sigma = xod(data_name, forward)
    tree = run_nuts(numpyro_model, data, backend=backend, num_warmup=1000, num_samples=1000, num_chains=4, seed=seed,
                    dense_mass=True, progress=False, neutra=True, forward=forward)  # fmt: skip
    if os.environ.get("XCOSMO_KEEP_CHAINS"):
        save_chains(tree, f"/tmp/xcosmo-nuts-{backend}-{data_name}-{seed}.nc")
    result = summary(tree, list(PHI_NAMES))
    out = tmp_path_factory.mktemp(f"nuts-{backend}")
    corner_plot(tree, out / "corner.png", var_names=list(PHI_NAMES), truths=dict(zip(PHI_NAMES, fiducial_phi())))
    print(backend, data_name, seed, {k: v for k, v in result.items() if k != "variables"})
    assert result["num_divergences"] == 0
    assert result["r_hat_max"] < 1.01
    fisher_err = dict(zip(PHI_NAMES, fisher.marginal_errors))
    for name, truth in zip(PHI_NAMES, fiducial_phi()):
        v = result["variables"][name]
        print(f"{backend} {name}: {v['mean']:.5g} +- {v['std']:.3g} (Fisher {fisher_err[name]:.3g}), truth {truth:.5g}")
        assert abs(v["mean"] - truth) < n_sigma * v["std"], name
    for name in ("omega_m", "sigma_8"):
        ratio = result["variables"][name]["std"] / fisher_err[name]
        assert 0.75 < ratio < 1.25, (name, ratio)
