"""X-ray emission of hot gas and the XMM-Newton EPIC response (paper sections 2.3 and 4.1).

- :mod:`xcosmo.xray.emission`: thermal bremsstrahlung of a Z = 0.3 Zsun plasma (pyatomdb), tabulated and cached;
  :mod:`xcosmo.xray.atomdb` imports pyatomdb without its interactive question.
- :mod:`xcosmo.xray.spectrum`: apec normalisation and observer-frame photon spectra in energy bins.
- :mod:`xcosmo.xray.response`: the folded response (fold, band rates); :mod:`xcosmo.xray.ogip` reads OGIP ARF/RMF/RSP
  files, :mod:`xcosmo.xray.epic` makes the built-in approximate EPIC pn+MOS1+MOS2 response.
- :mod:`xcosmo.xray.countrates`: band count rates, fluxes, luminosities and voxel emission.
"""

from xcosmo.xray.countrates import (
    BANDS,
    CountRateTable,
    band_count_rates,
    band_energy_flux,
    bolometric_emissivity,
    count_rate_to_flux,
    exact_band_rates,
    flux_to_luminosity,
    luminosity_to_norm,
    voxel_count_rates,
)
from xcosmo.xray.emission import BremsTable, load_brems_table
from xcosmo.xray.response import Response
from xcosmo.xray.spectrum import apec_norm, photon_flux

__all__ = [
    "BANDS",
    "BremsTable",
    "CountRateTable",
    "Response",
    "apec_norm",
    "band_count_rates",
    "band_energy_flux",
    "bolometric_emissivity",
    "count_rate_to_flux",
    "exact_band_rates",
    "flux_to_luminosity",
    "load_brems_table",
    "luminosity_to_norm",
    "photon_flux",
    "voxel_count_rates",
]
