"""xcosmo: differentiable forward models of X-ray cluster surveys (Cerardi et al., XMM cluster cosmology VII).

Modules, one idea each:

- :mod:`xcosmo.params`: the six simulation parameters theta = (Omega_m, sigma_8, A_SN1, A_SN2, A_AGN1, A_AGN2) and
  their prior.
- :mod:`xcosmo.cosmology`: flat LCDM background, growth and linear power spectrum.
- :mod:`xcosmo.hmf`: the Tinker et al. (2008) halo mass function and halo counts.
- :mod:`xcosmo.precision`: the precision rule (float32 simulations, float64 analytical side, usable from any code).
- :mod:`xcosmo.checks`: input checks, one message template; :mod:`xcosmo.constants`: physical constants (astropy);
  :mod:`xcosmo.quadrature`: Gauss-Legendre quadrature.
- :mod:`xcosmo.io`: atomic output files; :mod:`xcosmo.plots`: PNG figures.
- :mod:`xcosmo.xray`: bremsstrahlung emission, XMM-Newton EPIC responses, band count rates.
- :mod:`xcosmo.xod`, :mod:`xcosmo.scaling`, :mod:`xcosmo.analytic`: survey, XOD binning, the analytical model (its
  eight parameters phi = (Omega_m, sigma_8, A_MT, alpha_MT, gamma_MT, A_LT, alpha_LT, gamma_LT)).
- :mod:`xcosmo.nbody`: particle-mesh boxes with jaxpm.
- :mod:`xcosmo.lightcone`: light-cone geometry and the projection of box slices onto sky maps.
- :mod:`xcosmo.painting`: the baryon-painter protocol and a baseline painter.
- :mod:`xcosmo.detect`: sep source detection on count-rate and dark-matter maps.
- :mod:`xcosmo.pipeline`, :mod:`xcosmo.presets`, :mod:`xcosmo.outputs`: the simulated survey, its presets and files.
"""

from importlib.metadata import PackageNotFoundError, version

from xcosmo.params import PARAM_NAMES, PRIOR, Params, Prior

try:
    __version__ = version("xcosmo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["PARAM_NAMES", "PRIOR", "Params", "Prior", "__version__"]
