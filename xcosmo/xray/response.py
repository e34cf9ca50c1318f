"""The folded instrument response: folding photon spectra into channel counts and band count rates.

A :class:`Response` is the folded response matrix ``matrix[i, j]`` in cm^2: effective area (ARF) times redistribution
probability (RMF) from photon-energy bin ``i`` to detector channel ``j``. Folding a photon flux per energy bin
(photons cm^-2 s^-1 per bin, the convention of :func:`xcosmo.xray.emission.photon_flux`) gives counts/s per channel:

    C_j = sum_i F_i matrix[i, j]                                                        [counts s^-1]

and count rates in channel-energy bands (a channel belongs to the band [lo, hi) when its centre (E_MIN + E_MAX)/2
does) are one more matmul with a precomputed (n_e, n_band) matrix (:meth:`Response.band_matrix`), which is how the
paper's CR[0.5-2] and HR = CR[1-2]/CR[0.5-1] (section 2.4) are computed.

Where the response comes from:

- real calibration files, :meth:`Response.from_ogip` (ARF alone, ARF x RMF, or a combined RSP) and
  :meth:`Response.from_rsp`, read by :mod:`xcosmo.xray.ogip` (OGIP memo CAL/GEN/92-002);
- :meth:`Response.xmm_epic`, the built-in approximate on-axis EPIC pn/MOS1/MOS2 response of :mod:`xcosmo.xray.epic`
  (thin filter, full frame), made from published numbers, used when no calibration file is given.

Responses hold read-only float64 numpy arrays, so that :attr:`Response.digest`, a hash of the energy bins, channels
and matrix, identifies the content for as long as the object lives (the count-rate tables are cached by it).
:meth:`Response.fold` and :meth:`Response.band_rates` are JAX matmuls that run in the precision of the photon flux
they are given (float32 in the simulations, float64 in the analytical model), jit-able and differentiable in the flux.
"""

from __future__ import annotations

import functools
import hashlib
import os

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from xcosmo.checks import check_shape, finite, require
from xcosmo.xray import epic, ogip

__all__ = ["Response"]


def _frozen_float64(x: ArrayLike) -> np.ndarray:
    """A read-only float64 copy: the content of a Response cannot change after construction."""
    a = np.array(x, dtype=np.float64)
    a.setflags(write=False)
    return a


class Response(eqx.Module):
    """Folded instrument response, a pytree of float64 arrays.

    Attributes
    ----------
    energ_lo, energ_hi : photon-energy bin edges, keV, shape (n_e,).
    channel_lo, channel_hi : channel energy bounds (EBOUNDS E_MIN, E_MAX), keV, shape (n_ch,).
    matrix : (n_e, n_ch) response in cm^2: expected counts/s in channel j per unit photon flux
        (photons cm^-2 s^-1) in energy bin i. For an RMF read without an ARF it is the dimensionless
        redistribution probability.
    name : where it comes from (file names or "built-in ...").
    """

    energ_lo: np.ndarray = eqx.field(converter=_frozen_float64)
    energ_hi: np.ndarray = eqx.field(converter=_frozen_float64)
    channel_lo: np.ndarray = eqx.field(converter=_frozen_float64)
    channel_hi: np.ndarray = eqx.field(converter=_frozen_float64)
    matrix: np.ndarray = eqx.field(converter=_frozen_float64)
    name: str = eqx.field(static=True, default="response")

    def __check_init__(self) -> None:
        n_e, n_ch = np.shape(self.energ_lo)[0], np.shape(self.channel_lo)[0]
        for field, shape in [("energ_hi", (n_e,)), ("channel_hi", (n_ch,)), ("matrix", (n_e, n_ch))]:
            check_shape(f"Response.{field}", getattr(self, field), shape)

    # -- constructors ----------------------------------------------------------------------------------------------

    @classmethod
    def from_ogip(cls, arf: str | os.PathLike | None, rmf: str | os.PathLike | None = None) -> Response:
        """Read an OGIP response with astropy (:func:`xcosmo.xray.ogip.read_response`).

        - ``from_ogip(arf)``: the ARF alone, with a diagonal redistribution (channels = the ARF energy bins);
        - ``from_ogip(arf, rmf)``: ARF x RMF; the two energy grids must match;
        - ``from_ogip(None, rsp)``: a response matrix alone, normally an RSP whose MATRIX already includes the
          effective area (same as :meth:`from_rsp`); a pure RMF read this way gives probabilities, not cm^2.

        ARF: extension SPECRESP with ENERG_LO, ENERG_HI (keV), SPECRESP (cm^2). RMF/RSP: extension MATRIX (or
        SPECRESP MATRIX) with ENERG_LO, ENERG_HI, N_GRP, F_CHAN, N_CHAN, MATRIX (fixed or variable-length; the first
        channel number is TLMIN of F_CHAN, else the first EBOUNDS CHANNEL, else 1) and EBOUNDS with CHANNEL, E_MIN,
        E_MAX (keV).

        Raises ``FileNotFoundError`` for a missing file and ``ValueError`` (naming the file) for a file that is not
        FITS, lacks an extension or column, or whose energy grid does not match the other file's.
        """
        *arrays, name = ogip.read_response(arf, rmf)
        return cls(*arrays, name=name)

    @classmethod
    def from_rsp(cls, rsp: str | os.PathLike) -> Response:
        """Read a combined OGIP response (RSP: an RMF whose MATRIX includes the effective area, cm^2)."""
        return cls.from_ogip(None, rsp)

    @classmethod
    def xmm_epic(
        cls,
        cameras: str | tuple[str, ...] = epic.CAMERAS,
        energy_edges: ArrayLike | None = None,
        channel_edges: ArrayLike | None = None,
    ) -> Response:
        """Built-in APPROXIMATE on-axis XMM-Newton EPIC response, thin filter, full frame, summed over ``cameras``.

        Effective area: :func:`xcosmo.xray.epic.epic_effective_area` (mirror area x thin-filter transmission x CCD
        quantum efficiency, MOS behind the gratings receiving 44% of the mirror light). Redistribution: a Gaussian of
        FWHM sqrt(a^2 + b^2 E) through the published ~80 eV (pn) / ~70 eV (MOS) at 1 keV and ~150 eV at 6.4 keV,
        integrated over each channel, plus a shelf of partial-charge events below the photopeak, fitted per camera to
        the SAS 18 pn RMF and the MOS1 canned response; probability falling outside the channel range is lost. See
        :mod:`xcosmo.xray.epic` for the sources, what it neglects and how it compares with real responses (band
        rates within 7% of them, hardness ratios within 1%).

        For real work pass calibration files instead: ``Response.from_ogip("src.arf", "src.rmf")`` or
        ``Response.from_rsp("canned.rsp")``.

        Parameters
        ----------
        cameras : a subset of ("pn", "mos1", "mos2") (or one name); the matrices are summed.
        energy_edges : photon-energy bin edges in keV, increasing, inside [0.1, 12] keV to have an area
            (default 10 eV bins from 0.1 to 12 keV).
        channel_edges : channel energy edges in keV (default: the same as the default energy bins).
        """
        e_edges, c_edges, matrix, name = epic.epic_matrix(cameras, energy_edges, channel_edges)
        return cls(e_edges[:-1], e_edges[1:], c_edges[:-1], c_edges[1:], matrix, name=name)

    # -- derived quantities ----------------------------------------------------------------------------------------

    @functools.cached_property
    def digest(self) -> str:
        """Hash (BLAKE2b, 128 bits) of the energy bins, channel bounds and matrix: equal for equal content.

        Computed once per object, from concrete arrays (not inside ``jax.jit``).
        """
        h = hashlib.blake2b(digest_size=16)
        for a in (self.energ_lo, self.energ_hi, self.channel_lo, self.channel_hi, self.matrix):
            a = np.ascontiguousarray(a, dtype=np.float64)
            h.update(repr(a.shape).encode())
            h.update(a)
        return h.hexdigest()

    @property
    def n_energies(self) -> int:
        """Number of photon-energy bins n_e."""
        return int(np.shape(self.energ_lo)[0])

    @property
    def n_channels(self) -> int:
        """Number of channels n_ch."""
        return int(np.shape(self.channel_lo)[0])

    @property
    def energy_mid(self) -> np.ndarray:
        """Centres of the photon-energy bins, keV, shape (n_e,)."""
        return 0.5 * (np.asarray(self.energ_lo) + np.asarray(self.energ_hi))

    @property
    def energy_edges(self) -> np.ndarray:
        """Photon-energy bin edges, keV, shape (n_e + 1,), for :func:`xcosmo.xray.emission.photon_flux`.

        ``ValueError`` when the bins are not contiguous.
        """
        lo, hi = np.asarray(self.energ_lo), np.asarray(self.energ_hi)
        if not np.allclose(lo[1:], hi[:-1], rtol=1e-6, atol=0.0):
            raise ValueError(f"{self.name}: energy bins are not contiguous, there are no common edges")
        return np.append(lo, hi[-1])

    @property
    def channel_mid(self) -> np.ndarray:
        """Channel centres (E_MIN + E_MAX)/2, keV, shape (n_ch,)."""
        return 0.5 * (np.asarray(self.channel_lo) + np.asarray(self.channel_hi))

    @property
    def effective_area(self) -> np.ndarray:
        """Effective area, cm^2, per energy bin: the matrix summed over channels, shape (n_e,)."""
        return np.asarray(self.matrix).sum(axis=1)

    def __repr__(self) -> str:
        area = self.effective_area
        k = int(np.argmax(area))
        return (
            f"Response({self.name!r}: {self.n_energies} energy bins {float(self.energ_lo[0]):.3g}-"
            f"{float(self.energ_hi[-1]):.3g} keV, {self.n_channels} channels {float(self.channel_lo[0]):.3g}-"
            f"{float(self.channel_hi[-1]):.3g} keV, peak effective area {area[k]:.4g} cm^2 at "
            f"{self.energy_mid[k]:.3g} keV)"
        )

    # -- folding ---------------------------------------------------------------------------------------------------

    def fold(self, photon_flux: ArrayLike) -> jax.Array:
        """Counts/s per channel, shape (..., n_ch), from a photon flux per energy bin, photons cm^-2 s^-1, shape
        (..., n_e). A JAX matmul in the flux's floating dtype; jit-able and differentiable."""
        flux = self._check_flux(photon_flux)
        return jnp.matmul(flux, jnp.asarray(self.matrix, dtype=flux.dtype))

    def band_matrix(self, bands) -> np.ndarray:
        """(n_e, n_band) matrix in cm^2: counts/s in each channel-energy band per unit photon flux in each bin.

        ``bands`` is a sequence of (lo, hi) in keV, e.g. ((0.5, 1.0), (1.0, 2.0)); channel j belongs to a band
        when lo <= (E_MIN_j + E_MAX_j)/2 < hi. Precompute it once, outside ``jax.jit`` (it needs concrete arrays);
        band rates are then ``flux @ band_matrix``.
        """
        b = np.asarray(finite("bands", bands), dtype=np.float64)
        check_shape("bands", b, (None, 2), " ((lo, hi) pairs in keV)")
        require(bool(np.all(b[:, 0] < b[:, 1])), "bands", b, "expected (lo, hi) pairs in keV with lo < hi")
        mid = self.channel_mid[:, None]
        mask = (mid >= b[:, 0]) & (mid < b[:, 1])
        return np.asarray(self.matrix) @ mask.astype(np.float64)

    def band_rates(self, photon_flux: ArrayLike, bands) -> jax.Array:
        """Count rates in counts/s in channel-energy ``bands`` (see :meth:`band_matrix`), shape (..., n_band), from a
        photon flux per energy bin (photons cm^-2 s^-1, shape (..., n_e))."""
        flux = self._check_flux(photon_flux)
        return jnp.matmul(flux, jnp.asarray(self.band_matrix(bands), dtype=flux.dtype))

    def _check_flux(self, photon_flux: ArrayLike) -> jax.Array:
        flux = jnp.asarray(photon_flux)
        shape = (None,) * max(flux.ndim - 1, 0) + (self.n_energies,)
        check_shape("photon_flux", flux, shape, f" (the last axis must be the {self.n_energies} energy bins of "
                    f"{self.name})")  # fmt: skip
        if not jnp.issubdtype(flux.dtype, jnp.floating):
            flux = flux.astype(jnp.result_type(float))
        return flux
