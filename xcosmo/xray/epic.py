"""Built-in approximate on-axis XMM-Newton EPIC pn/MOS1/MOS2 response (thin filter, full frame), from published numbers.

The response of one camera to a photon of energy E is its effective area times a redistribution over channels:

    matrix[i, j] = A(E_i) P(channel j | E_i)                                                    [cm^2]

**Effective area** (:func:`epic_effective_area`, table :data:`EPIC_THIN_TABLE`):

    A_pn(E)  = mirror(E) filter(E) QE_pn(E),       A_MOS(E) = RGA_FRACTION mirror(E) filter(E) QE_MOS(E),

interpolated by monotone cubics (PCHIP) in log A - log E. The table is approximate (good to ~10%), written from the
published numbers and figures cited here (anchors quoted, curves not digitised), and NOT derived from any
calibration file; the real responses in shared/data/xmm are the independent check (tests/test_response.py):

- mirror: one XMM-Newton mirror module, anchored on 1475 cm^2 at 1.5 keV and 580 cm^2 at 8 keV (Jansen et al. 2001,
  A&A 365, L1; Aschenbach et al. 2000, SPIE 4012, 731), ~1500 cm^2 at 1 keV and ~800 cm^2 at 6 keV (XMM-Newton Users
  Handbook (UHB) section 3.2.2, mirror effective-area figure); nearly flat below 1.5 keV (gold coating) with the drop
  at the Au M5/M4 edges (2.21/2.29 keV) and the high-energy roll-off of that figure.
- filter: Thin filter = 1600 A polyimide (C22H10N2O5, 1.42 g/cm^3) + 400 A Al (UHB section 3.3.6); transmission
  exp(-sum_i mu_i rho_i t_i) computed at the table energies from tabulated mass attenuation coefficients (Elam, Ravel
  & Sieber 2002, Radiat. Phys. Chem. 63, 121, as packaged by xraydb; Henke et al. 1993 and Chantler 2005 give the
  same to 1%), with the carbon K (0.284 keV), oxygen K (0.532 keV) and aluminium K (1.56 keV) edges.
- pn QE: back-illuminated 300 um pn-CCD, single+double events (patterns 0-4), Struder et al. 2001, A&A 365, L18, QE
  figure (>~ 0.9 from 0.5 to 9 keV, falling below as the thin entrance window absorbs, and above 10 keV as the 300 um
  depletion depth becomes transparent).
- MOS QE: front-illuminated EEV CCD22 with an open electrode, patterns 0-12, Turner et al. 2001, A&A 365, L27, QE
  figure (low below 1 keV through the electrode structure, the Si K edge at 1.84 keV, ~40 um depletion above 5 keV).
- RGA_FRACTION: the reflection grating arrays behind the two MOS telescopes leave 44% of the mirror light to the MOS
  cameras (UHB section 3.2, "light path" figure and text).

**Photopeak** (:func:`epic_fwhm`): a Gaussian of FWHM = sqrt(a^2 + b^2 E) (noise + Fano terms) through the published
values at 1 keV and at Fe K (6.4 keV): UHB table 1 ("spectral resolution ~70 eV MOS, ~80 eV pn at 1 keV; ~150 eV for
both at 6.4 keV") and UHB section 3.3.4 (pn and MOS FWHM-vs-energy figures, which grow roughly as sqrt(E)).

**Low-energy redistribution** (:func:`redistribution`): partial charge collection near the CCD surface through which
the photons enter (the entrance window of the back-illuminated pn, Popp et al. 2000, NIM A 439, 567; the electrode
side of the front-illuminated MOS, Turner et al. 2001). A photon absorbed within a depth ~ d of that surface loses
part of its charge, so a fraction

    f(E) = 1 - exp(-d / lambda_Si(E))

of the events, lambda_Si being the photon attenuation length in silicon (:func:`silicon_attenuation_length`: NIST
XCOM attenuation coefficients of Si, log-log interpolation; below 1 keV mu/rho ~ E^-2.7), is measured at q E with q
uniform in [Q_MIN, 1) (a shelf below the photopeak), the rest in the photopeak. (d, Q_MIN) are fitted per camera kind
to the redistribution alone (each matrix row normalised to unit sum, so the effective area drops out), by least
squares on the cumulative fractions below 0.5 keV, 0.9 E and 0.7 E for E = 0.55-1.5 keV, against the reference
responses of shared/data/xmm (MANIFEST.md); tests/test_response.py re-runs the fit:

- pn: pn-thin-5-ao20.rmf, made in 2020 by rmfgen 2.8.1 of SAS 18: d = 0.333 um, Q_MIN = 0.487. It is the calibration
  a user of SAS gets today, so it is the one to follow. The same fit to the early-mission pn RMF of the sherpa test
  data (epn_ff20_dY9.rmf, EPIC_PN_RSP 6.3, 2002) gives d = 0.173 um, Q_MIN = 0.608: a smaller, shorter shelf that
  keeps ~10% more of the 0.5-1 keV counts above 0.5 keV, a calibration-epoch difference no single built-in response
  can remove.
- MOS: m1_thin1v9q19t5r5_all_15.rsp, the MOS1 thin canned response (Leicester, 2001), the only MOS reference file:
  d = 0.338 um, Q_MIN = 0.546 (as many partial events as the pn, losing less charge). MOS2 takes the MOS1 values.
  The MOS low-energy redistribution evolves in orbit (XMM-Newton Calibration Access and Data Handbook, EPIC MOS
  response), which neither this matrix nor the built-in follows.

Probability falling outside the channel range is lost. Neglected: vignetting and every off-axis effect, the PSF
fraction lost outside an extraction region (arfgen's encircled-energy correction), pattern-selection and gain details,
CCD gaps and bad pixels, the time dependence of the calibration (contamination, CTI, the growing low-energy
redistribution), and the differences between MOS1 and MOS2 (taken identical).

Against real responses (tests/test_response.py; bremsstrahlung-like spectra, kT = 1-8 keV, z = 0.1-0.5) the built-in
/ real band rates are 1.065-1.072 ([0.5-1] keV) and 1.057-1.069 ([1-2] keV) for pn against the SAS 18 pn ARF+RMF,
1.019-1.023 and 1.015-1.031 for MOS1 against the MOS1 canned RSP; hardness ratios agree to 1%. Calibration epochs
differ by more than that at low energy: the 2002 pn RMF of the sherpa test data keeps ~10% more of the 0.5-1 keV
counts above 0.5 keV than the SAS 18 one.

Everything here is float64 numpy; :meth:`xcosmo.xray.response.Response.xmm_epic` wraps :func:`epic_matrix`.
"""

from __future__ import annotations

import math

import numpy as np
from jax.typing import ArrayLike

from xcosmo.checks import check_choice, check_increasing, in_range, require

__all__ = [
    "CAMERAS",
    "CHARGE_LOSS_DEPTH_UM",
    "EPIC_THIN_TABLE",
    "RGA_FRACTION",
    "SHELF_Q_MIN",
    "epic_effective_area",
    "epic_fwhm",
    "epic_matrix",
    "redistribution",
    "shelf_fraction",
    "silicon_attenuation_length",
]

CAMERAS = ("pn", "mos1", "mos2")
"""EPIC cameras of the built-in response."""

EPIC_THIN_TABLE = np.array(
    [
        # E     mirror  filter  QE_pn  QE_mos
        [0.10, 1450.0, 0.123, 0.20, 0.02],
        [0.15, 1450.0, 0.278, 0.40, 0.04],
        [0.20, 1450.0, 0.479, 0.55, 0.09],
        [0.25, 1450.0, 0.635, 0.68, 0.14],
        [0.28, 1450.0, 0.701, 0.74, 0.17],
        [0.30, 1450.0, 0.393, 0.78, 0.20],  # just above the C K edge of the polyimide
        [0.35, 1455.0, 0.512, 0.82, 0.25],
        [0.40, 1455.0, 0.605, 0.85, 0.30],
        [0.45, 1455.0, 0.661, 0.87, 0.34],
        [0.50, 1460.0, 0.724, 0.88, 0.38],
        [0.53, 1460.0, 0.757, 0.88, 0.40],
        [0.55, 1460.0, 0.716, 0.86, 0.33],  # just above the O K edge
        [0.60, 1465.0, 0.759, 0.88, 0.37],
        [0.70, 1470.0, 0.830, 0.90, 0.45],
        [0.80, 1475.0, 0.876, 0.92, 0.53],
        [0.90, 1480.0, 0.907, 0.93, 0.59],
        [1.00, 1490.0, 0.928, 0.94, 0.65],
        [1.20, 1485.0, 0.956, 0.95, 0.74],
        [1.50, 1475.0, 0.976, 0.96, 0.82],
        [1.60, 1470.0, 0.944, 0.96, 0.83],  # just above the Al K edge
        [1.80, 1440.0, 0.958, 0.97, 0.86],
        [1.90, 1430.0, 0.963, 0.96, 0.68],  # just above the Si K edge (MOS electrodes)
        [2.00, 1420.0, 0.967, 0.96, 0.70],
        [2.20, 1380.0, 0.974, 0.97, 0.74],
        [2.30, 1160.0, 0.977, 0.97, 0.76],  # above the Au M5/M4 edges of the mirror coating
        [2.50, 1140.0, 0.982, 0.98, 0.79],
        [3.00, 1100.0, 0.989, 0.98, 0.85],
        [3.50, 1040.0, 0.993, 0.98, 0.88],
        [4.00, 990.0, 0.995, 0.98, 0.90],
        [5.00, 900.0, 0.997, 0.98, 0.89],
        [6.00, 800.0, 0.998, 0.98, 0.72],
        [7.00, 690.0, 0.999, 0.98, 0.59],
        [8.00, 580.0, 0.999, 0.97, 0.44],
        [9.00, 450.0, 1.000, 0.96, 0.34],
        [10.0, 330.0, 1.000, 0.93, 0.27],
        [11.0, 230.0, 1.000, 0.88, 0.22],
        [12.0, 150.0, 1.000, 0.82, 0.17],
    ]
)
"""Built-in on-axis EPIC thin-filter table: E (keV), mirror area (cm^2), filter transmission, QE pn, QE MOS."""

RGA_FRACTION = 0.44
"""Fraction of the mirror light reaching a MOS camera behind the reflection grating array (UHB section 3.2)."""

_FWHM_ANCHORS_KEV = {"pn": (0.080, 0.150), "mos": (0.070, 0.150)}  # FWHM at 1 keV and at 6.4 keV (UHB table 1)

CHARGE_LOSS_DEPTH_UM = {"pn": 0.333, "mos": 0.338}
"""Depth d (micrometres) of the partial-charge layer per camera kind ("pn", "mos"); see the module docstring."""
SHELF_Q_MIN = {"pn": 0.487, "mos": 0.546}
"""Lowest fraction Q_MIN of the charge collected for a partial event, per camera kind ("pn", "mos")."""

# NIST XCOM mass attenuation coefficients of silicon (cm^2/g), with both sides of the K edge at 1.8389 keV.
_SI_E_KEV = np.array([1.0, 1.5, 1.8389, 1.83891, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0])
_SI_MU_CM2_G = np.array([1570.0, 535.0, 309.0, 3192.0, 2777.0, 978.0, 452.0, 245.0, 147.0, 64.6, 33.9, 10.3])
_SI_DENSITY = 2.33  # g/cm^3

_DEFAULT_EDGES_KEV = np.linspace(0.1, 12.0, 1191)  # 10 eV bins over the table's range


def _camera_kind(camera: str) -> str:
    """"pn" or "mos" (MOS1 and MOS2 share their constants)."""
    check_choice("camera", camera, CAMERAS)
    return "pn" if camera == "pn" else "mos"


def silicon_attenuation_length(energy_kev: ArrayLike) -> np.ndarray:
    """Photon attenuation length of silicon in micrometres (NIST XCOM anchors; E^-2.7 extrapolation below 1 keV)."""
    e = np.asarray(energy_kev, dtype=np.float64)
    log_mu = np.interp(np.log(e), np.log(_SI_E_KEV), np.log(_SI_MU_CM2_G))
    mu = np.where(e < 1.0, _SI_MU_CM2_G[0] * e**-2.7, np.exp(log_mu))
    return 1e4 / (mu * _SI_DENSITY)


def shelf_fraction(energy_kev: ArrayLike, depth_um: float | None = None, camera: str = "pn") -> np.ndarray:
    """Fraction of events with partial charge collection, 1 - exp(-d / lambda_Si(E)), at ``energy_kev`` (keV).

    ``depth_um`` is d in micrometres; by default :data:`CHARGE_LOSS_DEPTH_UM` of ``camera``.
    """
    d = CHARGE_LOSS_DEPTH_UM[_camera_kind(camera)] if depth_um is None else depth_um
    return 1.0 - np.exp(-d / silicon_attenuation_length(energy_kev))


def epic_fwhm(energy_kev: ArrayLike, camera: str = "pn") -> np.ndarray:
    """Approximate EPIC energy resolution FWHM in keV at ``energy_kev`` (keV) for ``camera`` in :data:`CAMERAS`."""
    f1, f64 = _FWHM_ANCHORS_KEV[_camera_kind(camera)]
    b2 = (f64**2 - f1**2) / (6.4 - 1.0)
    a2 = f1**2 - b2 * 1.0
    return np.sqrt(a2 + b2 * np.asarray(energy_kev, dtype=np.float64))


def redistribution(
    energy_kev: ArrayLike,
    channel_edges_kev: ArrayLike,
    camera: str = "pn",
    depth_um: float | None = None,
    q_min: float | None = None,
) -> np.ndarray:
    """Probability (n_e, n_ch) that a photon of energy E is measured in each channel: Gaussian photopeak of FWHM
    :func:`epic_fwhm` plus the partial-charge shelf uniform in [q_min E, E) (see the module docstring).

    ``depth_um`` and ``q_min`` default to the fitted :data:`CHARGE_LOSS_DEPTH_UM` and :data:`SHELF_Q_MIN` of
    ``camera``.
    """
    from scipy.special import erf

    kind = _camera_kind(camera)
    depth_um = CHARGE_LOSS_DEPTH_UM[kind] if depth_um is None else depth_um
    q_min = SHELF_Q_MIN[kind] if q_min is None else q_min
    e = np.asarray(energy_kev, dtype=np.float64)[:, None]
    edges = np.asarray(channel_edges_kev, dtype=np.float64)[None, :]
    sigma = epic_fwhm(e, camera) / np.sqrt(8.0 * np.log(2.0))
    peak = 0.5 * (1.0 + erf((edges - e) / (np.sqrt(2.0) * sigma)))
    shelf = np.clip((edges / e - q_min) / (1.0 - q_min), 0.0, 1.0)
    f = shelf_fraction(e, depth_um, camera)
    return np.diff((1.0 - f) * peak + f * shelf, axis=1)


def epic_effective_area(energy_kev: ArrayLike, camera: str = "pn") -> np.ndarray:
    """Approximate on-axis thin-filter effective area in cm^2 of one EPIC camera at ``energy_kev`` (keV).

    Monotone cubic (PCHIP) interpolation of log(area) in log(E) through :data:`EPIC_THIN_TABLE`; zero outside
    its 0.1-12 keV range.
    """
    from scipy.interpolate import PchipInterpolator

    kind = _camera_kind(camera)
    e, mirror, filt, qe_pn, qe_mos = EPIC_THIN_TABLE.T
    area = mirror * filt * (qe_pn if kind == "pn" else RGA_FRACTION * qe_mos)
    energy = np.asarray(energy_kev, dtype=np.float64)
    inside = (energy >= e[0]) & (energy <= e[-1])
    log_area = PchipInterpolator(np.log(e), np.log(area))(np.log(np.clip(energy, e[0], e[-1])))
    return np.where(inside, np.exp(log_area), 0.0)


def _energy_edges(name: str, edges: ArrayLike | None) -> np.ndarray:
    edges = check_increasing(name, _DEFAULT_EDGES_KEV if edges is None else edges, unit="keV")
    return in_range(name, edges, 0.0, math.inf, open=True, unit="keV")


def epic_matrix(
    cameras: str | tuple[str, ...] = CAMERAS,
    energy_edges: ArrayLike | None = None,
    channel_edges: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Energy edges (keV), channel edges (keV), the (n_e, n_ch) matrix in cm^2 summed over ``cameras``, and a name;
    the arguments are those of :meth:`xcosmo.xray.response.Response.xmm_epic`."""
    cams = (cameras,) if isinstance(cameras, str) else tuple(cameras)
    require(bool(cams) and len(set(cams)) == len(cams), "cameras", cameras,
            f"expected a non-empty subset of {CAMERAS} without repeats")  # fmt: skip
    for cam in cams:
        _camera_kind(cam)
    e_edges = _energy_edges("energy_edges", energy_edges)
    c_edges = _energy_edges("channel_edges", channel_edges)
    e_mid = 0.5 * (e_edges[:-1] + e_edges[1:])
    matrix = np.zeros((e_mid.size, c_edges.size - 1))
    for cam in cams:
        matrix += epic_effective_area(e_mid, cam)[:, None] * redistribution(e_mid, c_edges, cam)
    return e_edges, c_edges, matrix, f"built-in approximate XMM-Newton EPIC {'+'.join(cams)} (thin, on-axis)"
