"""The survey and the X-ray Observable Diagram (XOD): a 3-D histogram of clusters in (z, CR, HR).

CR is the pn+MOS1+MOS2 count rate in the observer-frame [0.5-2] keV band (counts/s), HR = CR[1-2] / CR[0.5-1] the
hardness ratio (Clerc et al. 2012; paper section 2.3). One :class:`Binning` is shared by the analytical model, the
simulation pipeline and simulation-based inference, so their XODs can be compared bin by bin. Arrays are ordered
``(n_z, n_cr, n_hr)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from jax.typing import ArrayLike

from xcosmo.checks import check_choice, check_increasing, check_integer, check_number, check_shape, in_range, require
from xcosmo.constants import FULL_SKY_DEG2

__all__ = [
    "Survey",
    "Binning",
    "OVERFLOW_POLICIES",
    "SURVEY_ATTRS",
    "StoredXOD",
    "save_xod",
    "load_xod",
    "check_survey_binning",
    "check_same_survey",
    "survey_binning_from_attrs",
]

OVERFLOW_POLICIES = ("clip", "drop", "error")


@dataclass(frozen=True)
class Survey:
    """An X-ray cluster survey with a flux-limited selection.

    Attributes
    ----------
    area_deg2 : solid angle in deg^2 (paper: 200 deg^2, ten 20 deg^2 light cones).
    cr_min : selection threshold on the [0.5-2] keV count rate, counts/s (paper: 0.02 c/s, XXL C1-like density).
    z_min, z_max : redshift range.
    """

    area_deg2: float = 200.0
    cr_min: float = 0.02
    z_min: float = 0.1
    z_max: float = 0.5

    def __post_init__(self):
        check_number("area_deg2", self.area_deg2, 0.0, FULL_SKY_DEG2, unit="deg^2 (the full sky)")
        require(self.area_deg2 > 0, "area_deg2", self.area_deg2, "must be > 0 deg^2")
        check_number("cr_min", self.cr_min, 0.0, math.inf, open=True, unit="counts/s")
        check_number("z_min", self.z_min, 0.0)
        check_number("z_max", self.z_max, 0.0)
        require(self.z_max > self.z_min, "z_max", self.z_max, f"must be > z_min = {self.z_min!r}")

    @property
    def area_sr(self) -> float:
        """Solid angle in steradians."""
        return self.area_deg2 * (math.pi / 180.0) ** 2


@dataclass(frozen=True)
class Binning:
    """Bin edges of the XOD: linear in z, logarithmic in CR (counts/s) and HR.

    The defaults (8 z x 12 CR x 12 HR) span the survey's redshift range 0.1-0.5, CR from the 0.02 c/s selection
    threshold to 20 c/s (brighter clusters fall in the top bin with ``overflow="clip"``) and HR from 0.1 to 1.5:
    through the built-in EPIC response a plasma has HR = 0.1 at kT ~ 0.6 keV and HR = 1.2 at 20 keV (z = 0.1-0.5),
    and real responses give ~10% harder ratios.
    """

    z_edges: tuple[float, ...] = field(default_factory=lambda: tuple(np.linspace(0.1, 0.5, 9)))
    cr_edges: tuple[float, ...] = field(default_factory=lambda: tuple(np.geomspace(0.02, 20.0, 13)))
    hr_edges: tuple[float, ...] = field(default_factory=lambda: tuple(np.geomspace(0.1, 1.5, 13)))

    def __post_init__(self):
        for name in ("z_edges", "cr_edges", "hr_edges"):
            edges = check_increasing(name, getattr(self, name))
            object.__setattr__(self, name, tuple(float(e) for e in edges))
        for name in ("cr_edges", "hr_edges"):
            require(getattr(self, name)[0] > 0, name, getattr(self, name), "edges must be positive (log bins)")

    @classmethod
    def regular(
        cls,
        n_z: int = 8,
        n_cr: int = 12,
        n_hr: int = 12,
        z_range: tuple[float, float] = (0.1, 0.5),
        cr_range: tuple[float, float] = (0.02, 20.0),
        hr_range: tuple[float, float] = (0.1, 1.5),
    ) -> "Binning":
        """Linear z bins and log-spaced CR and HR bins over the given ranges."""
        for name, n in (("n_z", n_z), ("n_cr", n_cr), ("n_hr", n_hr)):
            check_integer(name, n, 1)
        return cls(
            tuple(np.linspace(*z_range, n_z + 1)),
            tuple(np.geomspace(*cr_range, n_cr + 1)),
            tuple(np.geomspace(*hr_range, n_hr + 1)),
        )

    def with_flux_cut(self, cr_min: float) -> "Binning":
        """This binning with its lowest CR edge moved down to ``cr_min`` (counts/s) if the cut lies below it (a cut
        above it needs no change: the models raise the lowest edge to the cut)."""
        check_number("cr_min", cr_min, 0.0, math.inf, open=True, unit="counts/s")
        if cr_min >= self.cr_edges[0]:
            return self
        return Binning(self.z_edges, (float(cr_min),) + self.cr_edges[1:], self.hr_edges)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.z_edges) - 1, len(self.cr_edges) - 1, len(self.hr_edges) - 1)

    @property
    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.asarray(self.z_edges), np.asarray(self.cr_edges), np.asarray(self.hr_edges)

    def check_xod(self, xod: ArrayLike, name: str = "xod") -> np.ndarray:
        """Validate an XOD array against this binning: shape, finite, non-negative. Returns it as numpy."""
        arr = np.asarray(xod)
        check_shape(name, arr, self.shape, " (n_z, n_cr, n_hr) of the binning")
        return in_range(name, arr, 0.0, math.inf, unit="counts")

    def histogram(self, cr: ArrayLike, hr: ArrayLike, z: ArrayLike, overflow: str = "clip") -> np.ndarray:
        """Count clusters per XOD bin.

        Parameters
        ----------
        cr : [0.5-2] keV count rates, counts/s.
        hr : hardness ratios CR[1-2]/CR[0.5-1].
        z : redshifts.
        overflow : what to do with clusters outside the CR or HR edges. ``"clip"`` (default) puts them in the first
            or last bin of that axis, ``"drop"`` leaves them out, ``"error"`` raises. Clusters outside the redshift
            edges are always left out (they are outside the survey), and so are clusters below the lowest CR edge
            (they are below the flux cut).

        Returns
        -------
        counts of shape ``(n_z, n_cr, n_hr)``, integer.
        """
        check_choice("overflow", overflow, OVERFLOW_POLICIES)
        cr, hr, z = (np.asarray(a, dtype=float).ravel() for a in (cr, hr, z))
        require(cr.shape == hr.shape == z.shape, "(cr, hr, z) lengths", (cr.size, hr.size, z.size), "must be equal")
        for name, a in (("cr", cr), ("hr", hr), ("z", z)):
            in_range(name, a)
        z_e, cr_e, hr_e = self.edges
        keep = (z >= z_e[0]) & (z < z_e[-1]) & (cr >= cr_e[0])
        outside = keep & ((cr >= cr_e[-1]) | (hr < hr_e[0]) | (hr >= hr_e[-1]))
        if overflow == "error" and np.any(outside):
            raise ValueError(f"{int(outside.sum())} clusters fall outside the CR/HR edges (overflow='error')")
        if overflow == "drop":
            keep &= ~outside
        iz = np.searchsorted(z_e, z[keep], side="right") - 1
        icr = np.clip(np.searchsorted(cr_e, cr[keep], side="right") - 1, 0, len(cr_e) - 2)
        ihr = np.clip(np.searchsorted(hr_e, hr[keep], side="right") - 1, 0, len(hr_e) - 2)
        counts = np.zeros(self.shape, dtype=np.int64)
        np.add.at(counts, (iz, icr, ihr), 1)
        return counts


SURVEY_ATTRS = ("area_deg2", "cr_min", "z_min", "z_max")
"""Attributes of an XOD file that describe its survey (deg^2, counts/s, redshifts)."""


def save_xod(path, counts: ArrayLike, binning: Binning, survey: Survey, metadata: dict | None = None) -> None:
    """Write an XOD to HDF5 atomically: dataset ``counts`` (n_z, n_cr, n_hr) with the bin edges as datasets
    ``z_edges``, ``cr_edges`` (counts/s, [0.5-2] keV) and ``hr_edges``, the survey's area [deg^2], flux cut [counts/s]
    and redshift range as attributes (:data:`SURVEY_ATTRS`), and ``metadata`` (parameters, seed, preset,
    version...) as further attributes of the root group."""
    import json

    import h5py

    from xcosmo.checks import check_type
    from xcosmo.io import atomic_path

    check_type("survey", survey, Survey, "an xcosmo.xod.Survey")
    check_survey_binning(survey, binning)
    counts = binning.check_xod(counts, "counts")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("counts", data=counts)
        for name, edges in zip(("z_edges", "cr_edges", "hr_edges"), binning.edges):
            f.create_dataset(name, data=edges)
        f["cr_edges"].attrs["unit"] = "counts/s, [0.5-2] keV, EPIC pn+MOS1+MOS2"
        f["counts"].attrs["axes"] = "z, cr, hr"
        for key, value in (metadata or {}).items():
            if key not in SURVEY_ATTRS:
                f.attrs[key] = value if isinstance(value, (int, float, str, np.number)) else json.dumps(value)
        for key in SURVEY_ATTRS:
            f.attrs[key] = float(getattr(survey, key))


class StoredXOD(NamedTuple):
    """An XOD read from a file: counts (n_z, n_cr, n_hr), its :class:`Binning`, its :class:`Survey` and the other
    attributes of the file."""

    counts: np.ndarray
    binning: Binning
    survey: Survey
    metadata: dict


def load_xod(path) -> StoredXOD:
    """Read an XOD written by :func:`save_xod`. ``FileNotFoundError`` if missing, ``ValueError`` naming the file and
    the field if it is not an XOD (missing or malformed dataset, missing survey attributes)."""
    from pathlib import Path

    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"XOD file {str(path)!r} not found")
    name = f"XOD file {str(path)!r}"
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("counts", "z_edges", "cr_edges", "hr_edges") if k not in f]
            if missing:
                raise ValueError(f"{name} lacks dataset(s) {missing}")
            groups = [k for k in ("counts", "z_edges", "cr_edges", "hr_edges") if not isinstance(f[k], h5py.Dataset)]
            if groups:
                raise ValueError(f"{name}: {groups} must be datasets, not groups")
            absent = [k for k in SURVEY_ATTRS if k not in f.attrs]
            if absent:
                raise ValueError(f"{name} lacks the survey attribute(s) {absent} (area in deg^2, flux cut in counts/s, "
                                 "redshift range): write XODs with xcosmo.xod.save_xod, which records them")  # fmt: skip
            binning = Binning(*(tuple(np.ravel(f[k][()])) for k in ("z_edges", "cr_edges", "hr_edges")))
            survey = Survey(**{k: float(f.attrs[k]) for k in SURVEY_ATTRS})
            counts = binning.check_xod(f["counts"][()], f"{name} counts")
            meta = {k: v for k, v in f.attrs.items() if k not in SURVEY_ATTRS}
    except OSError as err:
        raise ValueError(f"{name} is not a readable HDF5 file: {err}") from None
    except (TypeError, ValueError) as err:
        raise ValueError(str(err) if str(err).startswith(name) else f"{name}: {err}") from None
    return StoredXOD(counts, binning, survey, meta)


def check_survey_binning(survey: Survey, binning: Binning) -> None:
    """``ValueError`` unless ``binning`` can hold ``survey``'s clusters: the lowest CR edge must not lie above the
    flux cut (clusters between the two would be silently dropped) and the z edges must lie within its z range."""
    cr_lo = binning.cr_edges[0]
    require(survey.cr_min >= cr_lo * (1 - 1e-9), "cr_min", survey.cr_min,
            f"the flux cut must not be below the binning's lowest CR edge {cr_lo:g} counts/s (clusters in between "
            "would be counted nowhere): lower that edge (Binning.with_flux_cut) or raise the cut")  # fmt: skip
    z_lo, z_hi = binning.z_edges[0], binning.z_edges[-1]
    require(z_lo >= survey.z_min - 1e-9 and z_hi <= survey.z_max + 1e-9, "binning z edges", (z_lo, z_hi),
            f"must lie within the survey's z range [{survey.z_min:g}, {survey.z_max:g}]")  # fmt: skip


def check_same_survey(name: str, given: tuple[Survey, Binning], expected: tuple[Survey, Binning]) -> None:
    """``ValueError`` unless an XOD of ``given`` (survey, binning) can be compared bin by bin with a model of
    ``expected``: same area, flux cut, redshift range and bin edges (to 1e-6 relative). The message names both values."""
    (s1, b1), (s2, b2) = given, expected
    for key in SURVEY_ATTRS:
        a, b = getattr(s1, key), getattr(s2, key)
        require(math.isclose(a, b, rel_tol=1e-6), f"{name} {key}", a, f"the model's survey has {key} = {b:g}")
    for key in ("z_edges", "cr_edges", "hr_edges"):
        a, b = np.asarray(getattr(b1, key)), np.asarray(getattr(b2, key))
        same = a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=0.0)
        require(same, f"{name} {key}", a, f"the model's binning has {key} = {np.round(b, 4).tolist()}")


def survey_binning_from_attrs(attrs: dict) -> tuple[Survey, Binning]:
    """The survey and binning recorded as ``{"survey": {...}, "binning": {"z_edges", "cr_edges", "hr_edges"}}`` in a
    campaign store's attributes and in the metadata of weights trained on one."""
    edges = attrs["binning"]
    return Survey(**attrs["survey"]), Binning(*(tuple(edges[k]) for k in ("z_edges", "cr_edges", "hr_edges")))
