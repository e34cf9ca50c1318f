"""Reader of OGIP ARF, RMF and RSP files (OGIP memo CAL/GEN/92-002, George et al. 1992), with astropy, in float64.

An ARF (extension SPECRESP; HDUCLAS2 = SPECRESP) holds the effective area A_i (cm^2) of photon-energy bins
[ENERG_LO_i, ENERG_HI_i) (keV). An RMF (extension MATRIX or SPECRESP MATRIX; HDUCLAS2 = RSP_MATRIX) holds the
redistribution probability R_ij from energy bin i to detector channel j, stored sparsely: row i has N_GRP groups of
N_CHAN channels starting at F_CHAN, the MATRIX column listing the values group after group; channel numbers start at
TLMIN of F_CHAN, else at the first EBOUNDS CHANNEL (often 1). The EBOUNDS extension gives the channel energies
[E_MIN_j, E_MAX_j) (keV). An RSP is an RMF whose MATRIX already includes the effective area (cm^2).

The folded response in cm^2 is then

    matrix[i, j] = A_i R_ij     (ARF x RMF),     R_ij (RSP, or an RMF read alone),     A_i delta_ij (ARF alone),

the last with channels equal to the ARF's energy bins. :func:`read_response` returns it densely;
:meth:`xcosmo.xray.response.Response.from_ogip` wraps it. Missing files raise ``FileNotFoundError``; files that are
not FITS, lack an extension or column, address channels that do not exist, or do not match each other raise
``ValueError`` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from xcosmo.checks import fail

__all__ = ["read_arf", "read_response", "read_rmf"]

_KEV_COLUMNS = ("ENERG_LO", "ENERG_HI", "E_MIN", "E_MAX")
_ROW_SUM_MAX = 1.1  # an RMF row is a probability (<= 1 up to rounding); an RSP row is an area in cm^2


def _open(path: str | os.PathLike, kind: str):
    """Open a FITS file with astropy: FileNotFoundError if missing, ValueError if not FITS."""
    from astropy.io import fits

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{kind} file {str(path)!r} not found")
    try:
        hdul = fits.open(path, memmap=False)
        hdul.verify("silentfix")
        _ = [(hdu.header, hdu.data) for hdu in hdul]  # parse every header and read every table now (truncated files)
    except (OSError, ValueError, TypeError, IndexError) as err:
        raise ValueError(f"{kind} file {str(path)!r} is not a readable FITS file: {err}") from None
    if len(hdul) == 0:
        raise ValueError(f"{kind} file {str(path)!r} is not a readable FITS file: no HDU")
    return hdul


def _find_hdu(hdul, path, kind: str, extnames: tuple[str, ...], hduclas2: str):
    for hdu in hdul[1:]:
        if hdu.name.upper() in extnames or str(hdu.header.get("HDUCLAS2", "")).strip().upper() == hduclas2:
            return hdu
    found = ", ".join(h.name or "?" for h in hdul)
    raise ValueError(
        f"{kind} file {str(path)!r} has no {' or '.join(extnames)} extension (HDUCLAS2 = {hduclas2}); it has: {found}"
    )


def _columns(hdu, path, kind: str, names: tuple[str, ...]) -> None:
    have = {c.upper() for c in hdu.columns.names} if hasattr(hdu, "columns") else set()
    missing = [n for n in names if n not in have]
    if missing:
        raise ValueError(f"{kind} file {str(path)!r}: extension {hdu.name} lacks column(s) {', '.join(missing)}")
    for n in names:
        unit = str(hdu.columns[n].unit or "").strip()
        if n in _KEV_COLUMNS and unit not in ("", "keV"):
            raise ValueError(f"{kind} file {str(path)!r}: column {n} has unit {unit!r}, expected keV")


def _read_columns(hdu, path, kind: str, names: tuple[str, ...]) -> list[np.ndarray]:
    """The columns ``names`` as float64 arrays; ``ValueError`` naming the file and column if a column cannot be read
    (a truncated file) or holds non-numbers."""
    out = []
    for name in names:
        try:
            out.append(np.array(hdu.data[name], dtype=np.float64))
        except (OSError, ValueError, TypeError, IndexError) as err:
            raise ValueError(f"{kind} file {str(path)!r}: column {name} cannot be read (truncated file?): {err}") from None
    return out


def _check_grid(path, kind: str, lo_name: str, hi_name: str, lo: np.ndarray, hi: np.ndarray) -> None:
    """Energy bins [lo, hi) in keV: finite, non-negative, each of positive width, and increasing."""
    where = f"{kind} file {str(path)!r}"
    for name, values in ((lo_name, lo), (hi_name, hi)):
        bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
        if bad.size:
            raise ValueError(f"{where}: column {name} = {float(values[bad[0]])!r} in row {bad[0]} is not allowed: energies "
                             "must be finite and >= 0 keV")  # fmt: skip
    bad = np.flatnonzero(hi <= lo)
    if bad.size:
        raise ValueError(f"{where}: row {bad[0]} has {hi_name} = {hi[bad[0]]:g} <= {lo_name} = {lo[bad[0]]:g} keV: "
                         "every bin needs a positive width")  # fmt: skip
    bad = np.flatnonzero(np.diff(lo) <= 0)
    if bad.size:
        raise ValueError(f"{where}: column {lo_name} is not increasing at row {bad[0] + 1} "
                         f"({lo[bad[0]]:g} then {lo[bad[0] + 1]:g} keV)")  # fmt: skip


def _check_non_negative(path, kind: str, name: str, values: np.ndarray, unit: str, rtol: float = 0.0) -> None:
    """Finite values >= -rtol x the largest value (real RMFs hold small negatives: down to -0.6% of the largest entry
    in the EPIC pn RMF epn_ff20_dY9)."""
    floor = -rtol * float(np.nanmax(np.abs(values), initial=0.0)) if rtol else 0.0
    bad = np.flatnonzero(~np.isfinite(values.ravel()) | (values.ravel() < floor))
    if bad.size:
        raise ValueError(f"{kind} file {str(path)!r}: column {name} = {float(values.ravel()[bad[0]])!r} at index {bad[0]} is "
                         f"not allowed: values must be finite and >= {floor:.3g} {unit}")  # fmt: skip


def _column_number(hdu, name: str) -> int:
    """1-based index of column ``name`` in a FITS binary table (for TLMINn keywords)."""
    return [c.upper() for c in hdu.columns.names].index(name) + 1


def read_arf(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ENERG_LO, ENERG_HI (keV) and SPECRESP (cm^2) of an OGIP ARF, float64."""
    with _open(path, "ARF") as hdul:
        hdu = _find_hdu(hdul, path, "ARF", ("SPECRESP",), "SPECRESP")
        _columns(hdu, path, "ARF", ("ENERG_LO", "ENERG_HI", "SPECRESP"))
        if hdu.data is None or len(hdu.data) == 0:
            raise ValueError(f"ARF file {str(path)!r}: SPECRESP extension has no rows")
        e_lo, e_hi, area = _read_columns(hdu, path, "ARF", ("ENERG_LO", "ENERG_HI", "SPECRESP"))
        _check_grid(path, "ARF", "ENERG_LO", "ENERG_HI", e_lo, e_hi)
        _check_non_negative(path, "ARF", "SPECRESP", area, "cm^2")
        return e_lo, e_hi, area


def read_rmf(path: str | os.PathLike) -> tuple[np.ndarray, ...]:
    """ENERG_LO, ENERG_HI, E_MIN, E_MAX (keV) and the dense (n_e, n_ch) MATRIX of an OGIP RMF/RSP, float64."""
    with _open(path, "RMF") as hdul:
        hdu = _find_hdu(hdul, path, "RMF", ("MATRIX", "SPECRESP MATRIX"), "RSP_MATRIX")
        _columns(hdu, path, "RMF", ("ENERG_LO", "ENERG_HI", "N_GRP", "F_CHAN", "N_CHAN", "MATRIX"))
        ebo = _find_hdu(hdul, path, "RMF", ("EBOUNDS",), "EBOUNDS")
        _columns(ebo, path, "RMF", ("CHANNEL", "E_MIN", "E_MAX"))
        d = hdu.data
        if d is None or len(d) == 0 or ebo.data is None or len(ebo.data) == 0:
            raise ValueError(f"RMF file {str(path)!r}: the MATRIX or EBOUNDS extension has no rows")
        channel, c_lo, c_hi = _read_columns(ebo, path, "RMF", ("CHANNEL", "E_MIN", "E_MAX"))
        order = np.argsort(channel)
        channels, c_lo, c_hi = channel[order].astype(np.int64), c_lo[order], c_hi[order]
        if np.any(np.diff(channels) != 1):
            raise ValueError(f"RMF file {str(path)!r}: EBOUNDS CHANNEL must be consecutive channel numbers")
        _check_grid(path, "RMF", "E_MIN", "E_MAX", c_lo, c_hi)
        tlmin = hdu.header.get(f"TLMIN{_column_number(hdu, 'F_CHAN')}")
        first = int(tlmin) if tlmin is not None else int(channels[0])
        e_lo, e_hi = _read_columns(hdu, path, "RMF", ("ENERG_LO", "ENERG_HI"))
        _check_grid(path, "RMF", "ENERG_LO", "ENERG_HI", e_lo, e_hi)
        matrix = np.zeros((e_lo.size, channels.size))
        n_grp, f_chan, n_chan, values = d["N_GRP"], d["F_CHAN"], d["N_CHAN"], d["MATRIX"]
        for i in range(e_lo.size):
            ng = int(n_grp[i])
            if ng == 0:
                continue
            starts = np.atleast_1d(f_chan[i])[:ng].astype(np.int64) - first
            lengths = np.atleast_1d(n_chan[i])[:ng].astype(np.int64)
            row = np.atleast_1d(values[i]).astype(np.float64)
            if starts.size < ng or lengths.size < ng or row.size < lengths.sum():
                raise ValueError(
                    f"RMF file {str(path)!r}: row {i} declares N_GRP = {ng} groups of {lengths.sum()} channels "
                    f"but holds {starts.size} F_CHAN, {lengths.size} N_CHAN and {row.size} MATRIX values"
                )
            if np.any(starts < 0) or np.any(starts + lengths > channels.size):
                raise ValueError(
                    f"RMF file {str(path)!r}: row {i} addresses channels outside {first}..{first + channels.size - 1}"
                )
            k = 0
            for s, n in zip(starts, lengths, strict=True):
                matrix[i, s : s + n] = row[k : k + n]
                k += n
        _check_non_negative(path, "RMF", "MATRIX", matrix, "(probabilities, or cm^2 in an RSP)", rtol=0.01)
        return e_lo, e_hi, c_lo, c_hi, matrix


def read_response(
    arf: str | os.PathLike | None, rmf: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """ENERG_LO, ENERG_HI, channel E_MIN, E_MAX (keV), the dense folded matrix (cm^2) and a name (the file names).

    ``read_response(arf)``: the ARF alone, diagonal; ``read_response(arf, rmf)``: ARF x RMF, whose energy grids must
    agree bin by bin; ``read_response(None, rsp)``: the matrix alone (an RSP in cm^2, or an RMF's probabilities).
    """
    if arf is None and rmf is None:
        fail("arf, rmf", (arf, rmf), "from_ogip needs an ARF, an RMF/RSP, or both")
    if rmf is None:
        e_lo, e_hi, area = read_arf(arf)
        return e_lo, e_hi, e_lo.copy(), e_hi.copy(), np.diag(area), Path(arf).name
    e_lo, e_hi, c_lo, c_hi, redist = read_rmf(rmf)
    if arf is None:
        return e_lo, e_hi, c_lo, c_hi, redist, Path(rmf).name
    a_lo, a_hi, area = read_arf(arf)
    if a_lo.shape != e_lo.shape or not (
        np.allclose(a_lo, e_lo, rtol=1e-5, atol=1e-6) and np.allclose(a_hi, e_hi, rtol=1e-5, atol=1e-6)
    ):
        raise ValueError(
            f"energy grids do not match: ARF {str(arf)!r} has {a_lo.size} bins {a_lo[0]:g}-{a_hi[-1]:g} keV, "
            f"RMF {str(rmf)!r} has {e_lo.size} bins {e_lo[0]:g}-{e_hi[-1]:g} keV; "
            "ENERG_LO/ENERG_HI must agree bin by bin"
        )
    row_max = float(redist.sum(axis=1).max())
    if row_max > _ROW_SUM_MAX:
        raise ValueError(
            f"RMF file {str(rmf)!r} has rows summing to {row_max:.4g} > 1: it already includes the effective "
            "area (an RSP); read it alone with Response.from_rsp instead of multiplying it by an ARF"
        )
    return e_lo, e_hi, c_lo, c_hi, area[:, None] * redist, f"{Path(arf).name} x {Path(rmf).name}"
