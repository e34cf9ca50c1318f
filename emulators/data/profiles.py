"""Stacked halo gas profiles of CAMELS IllustrisTNG (``shared/data/camels/profiles``, from emilymmoser/emu_CAMELS):
the calibration targets of the synthetic training suite (issue 15) and its held-out check.

One file per simulation, snapshot and halo-mass bin, named ``IllustrisTNG_{1P_27|LH_0|...}_{snap}_uw_{lo}-{hi}.txt``:
a header (number of profiles, mean and median halo mass, mass range in log10, number of haloes) and 21 columns per
radius: R (Mpc), then for the gas density (Msun/kpc^3), the thermal pressure (Msun/kpc/s^2), the gas-mass-weighted
metallicity (mass fraction) and the gas-mass-weighted temperature (K), each as mean, upper and lower error, std and
median. The std column of each quantity is given as in the file (its unit is not stated there; its values, 0.1-1,
read as a scatter in dex). Snapshots 024-033 of IllustrisTNG are at z = 0.54, 0.47, 0.40, 0.34, 0.27, 0.21, 0.15,
0.10, 0.05, 0 (``redshift_table.txt``, read by :func:`read_redshift_table`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["StackedProfile", "read_profile", "find_profiles", "read_redshift_table", "QUANTITIES"]

QUANTITIES = ("rho", "pth", "metal", "temp")
"""The profiled quantities, in the files' column order: gas density (Msun/kpc^3), thermal pressure (Msun/kpc/s^2),
gas-mass-weighted metallicity (fraction) and temperature (K)."""
_STATS = ("mean", "err_up", "err_low", "std", "median")
_NAME = re.compile(r"IllustrisTNG_(?P<sim>(?:1P|LH|CV)_\d+)_(?P<snap>\d{3})_uw_(?P<lo>[\d.]+)-(?P<hi>[\d.]+)\.txt$")


@dataclass(frozen=True)
class StackedProfile:
    """One stacked profile file.

    Attributes
    ----------
    simulation : e.g. ``"1P_27"`` (the fiducial 1P run) or ``"LH_3"``.
    snapshot : IllustrisTNG snapshot number (033 is z = 0).
    log_mass_range : (low, high) log10 halo mass of the bin, as the file names it.
    n_haloes, n_profiles : from the header (the LH files give no halo count: None).
    mean_mass, median_mass : halo masses of the bin, from the header.
    r_mpc : radii, Mpc.
    values : quantity -> statistic -> array over radius (:data:`QUANTITIES`; statistics mean, err_up, err_low, std,
        median), in the units of :data:`QUANTITIES`.
    """

    simulation: str
    snapshot: int
    log_mass_range: tuple[float, float]
    n_haloes: int | None
    n_profiles: int
    mean_mass: float
    median_mass: float
    r_mpc: np.ndarray
    values: dict

    def __getitem__(self, key: tuple[str, str]) -> np.ndarray:
        quantity, stat = key
        return self.values[quantity][stat]


def read_profile(path: str | os.PathLike) -> StackedProfile:
    """Read one stacked-profile file; ``FileNotFoundError`` if missing, ``ValueError`` naming the file if its name,
    header or columns are not those of the CAMELS profile files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CAMELS profile file {str(path)!r} not found")
    where = f"CAMELS profile file {str(path)!r}"
    name = _NAME.search(path.name)
    if name is None:
        raise ValueError(f"{where}: the name is not IllustrisTNG_<sim>_<snap>_uw_<lo>-<hi>.txt")
    header = " ".join(line for line in path.read_text().splitlines() if line.startswith("#"))
    numbers = {key: re.search(pattern, header) for key, pattern in (
        ("nprofs", r"nprofs\s+(\d+)"), ("mean", r"mean mh\s+([\d.eE+]+)"), ("median", r"median mh\s+([\d.eE+]+)"),
        ("nhalos", r"Nhalos\s+(\d+)"))}  # fmt: skip
    missing = [k for k, v in numbers.items() if v is None and k != "nhalos"]  # the LH files do not count haloes
    if missing:
        raise ValueError(f"{where}: the header lacks {missing}")
    try:
        table = np.loadtxt(path, ndmin=2)
    except ValueError as err:
        raise ValueError(f"{where}: the columns are not numbers ({err})") from None
    if table.shape[1] != 1 + len(QUANTITIES) * len(_STATS) or table.shape[0] < 2:
        raise ValueError(f"{where}: {table.shape[1]} columns and {table.shape[0]} rows, expected 21 columns (R and "
                         "5 statistics of 4 quantities) and several radii")  # fmt: skip
    if np.any(np.diff(table[:, 0]) <= 0):
        raise ValueError(f"{where}: the radii are not increasing")
    values = {q: {s: table[:, 1 + i * len(_STATS) + j] for j, s in enumerate(_STATS)} for i, q in enumerate(QUANTITIES)}
    return StackedProfile(
        simulation=name["sim"],
        snapshot=int(name["snap"]),
        log_mass_range=(float(name["lo"]), float(name["hi"])),
        n_haloes=int(numbers["nhalos"][1]) if numbers["nhalos"] else None,
        n_profiles=int(numbers["nprofs"][1]),
        mean_mass=float(numbers["mean"][1]),
        median_mass=float(numbers["median"][1]),
        r_mpc=table[:, 0],
        values=values,
    )


def find_profiles(folder: str | os.PathLike, simulation: str | None = None, snapshot: int | None = None
                  ) -> list[StackedProfile]:  # fmt: skip
    """Every profile file under ``folder`` (recursively), optionally of one simulation and snapshot, sorted by
    simulation, snapshot and mass bin."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"CAMELS profile folder {str(folder)!r} not found")
    found = [read_profile(p) for p in sorted(folder.rglob("IllustrisTNG_*_uw_*.txt"))]
    found = [p for p in found if (simulation is None or p.simulation == simulation)
             and (snapshot is None or p.snapshot == snapshot)]  # fmt: skip
    return sorted(found, key=lambda p: (p.simulation, p.snapshot, p.log_mass_range))


def read_redshift_table(path: str | os.PathLike, code: str = "IllustrisTNG") -> dict[int, float]:
    """Snapshot number -> redshift of one code's snapshots, from CAMELS' ``redshift_table.txt`` (a reStructuredText
    grid table: Redshift | Scale Factor | IllustrisTNG | SIMBA | Astrid)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CAMELS redshift table {str(path)!r} not found")
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in path.read_text().splitlines()
            if line.startswith("|")]  # fmt: skip
    header, body = rows[0], rows[1:]
    if code not in header or "Redshift" not in header:
        raise ValueError(f"CAMELS redshift table {str(path)!r}: no column {code!r} (columns: {header})")
    col, zcol = header.index(code), header.index("Redshift")
    return {int(r[col]): float(r[zcol]) for r in body if len(r) == len(header) and r[col].isdigit()}
