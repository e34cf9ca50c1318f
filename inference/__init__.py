"""Statistics for xcosmo: likelihoods, numpyro/blackjax sampling, Fisher matrices and simulation-based inference.

- :mod:`inference.likelihood`: the binned Poisson likelihood of an XOD and its numpyro model (``numpyro_model``),
  around the analytical forward model (an :class:`xcosmo.analytic.AnalyticModel`, called ``forward``).
- :mod:`inference.mcmc`: NUTS with numpyro or blackjax (settings, start, backends, chains, diagnostics, plots).
- :mod:`inference.neutra`: NUTS in the latent space of a normalising flow fitted to the posterior.
- :mod:`inference.fisher`, :mod:`inference.fisher_plots`: Fisher matrices and their confidence ellipses.

Depends on :mod:`xcosmo` and :mod:`emulators`; neither imports this package.
"""
