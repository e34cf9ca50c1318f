"""Statistics for xcosmo: likelihoods, numpyro/blackjax sampling, Fisher matrices and simulation-based inference.

Depends on :mod:`xcosmo` and :mod:`emulators`; neither imports this package.
"""
