"""Files of a simulated survey, in formats astronomers' tools read.

``write_survey(result, out)`` writes, as one run (:mod:`xcosmo.runs`: staged, committed with a ``run.json`` listing
every file, so a killed run never leaves a truncated file or a folder mixing two runs):

* ``catalogue.fits``: the cluster catalogue (FITS binary table; units in TUNITn, descriptions in TCOMMn);
* ``xod.h5``: the XOD counts and bin edges, with the parameters, seed, preset settings and package version as
  attributes (:func:`xcosmo.xod.save_xod`);
* ``maps/lightcone_LL.fits``: one file per light cone, one image cube per quantity (``CR_05_1``, ``CR_1_2``,
  ``RHO_DM``, ``MASS_200C``; axes box, y, x) with a celestial TAN WCS on the first two axes, BUNIT in the header, and
  a ``BOXES`` table (box index, redshift, comoving range);
* ``previews/lightcone_LL.png``: [0.5-2] keV count-rate maps of a few boxes with the detected clusters circled
  (like the paper's figure 3), and ``previews/xod.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from astropy.io import fits

from .checks import check_type
from .io import atomic_path, ensure_writable_dir, write_table
from .plots import figure, plot_xod, save_png
from .xod import save_xod

if TYPE_CHECKING:  # the pipeline imports this module when it writes its result
    from .pipeline import SurveyResult

__all__ = ["write_survey", "write_survey_files", "write_maps", "MAP_UNITS"]

MAP_UNITS = {  # (BUNIT, header comment: at most 45 characters to fit the 80-character card)
    "cr_05_1": ("ct / s", "[0.5-1] keV, pn+MOS1+MOS2, per pixel"),
    "cr_1_2": ("ct / s", "[1-2] keV, pn+MOS1+MOS2, per pixel"),
    "rho_dm": ("", "DM rho/rho_crit(z), max along line of sight"),
    "mass_200c": ("solMass / littleh", "mass of voxels > 200 rho_crit, per pixel"),
}


def write_maps(result: SurveyResult, path: Path, l: int) -> Path:
    """The maps of light cone ``l`` of a :class:`xcosmo.pipeline.SurveyResult` as one multi-extension FITS file."""
    lc = result.lightcone
    header = lc.sky_wcs(result.centres[l]).to_header()
    header["CTYPE3"], header["CRPIX3"], header["CRVAL3"], header["CDELT3"] = "BOX", 1.0, 0.0, 1.0
    header["CUNIT3"] = ""
    primary = fits.PrimaryHDU()
    primary.header["PRESET"] = result.preset.name
    primary.header["SEED"] = result.seed
    primary.header["LCONE"] = (l, "light-cone index")
    for name, value in result.params.as_dict().items():
        primary.header[name.upper()[:8]] = value
    hdus = [primary]
    for name, (unit, comment) in MAP_UNITS.items():
        hdu = fits.ImageHDU(np.ascontiguousarray(result.maps[name][l]), header=header.copy(), name=name.upper())
        hdu.header["BUNIT"] = (unit, comment)
        hdu.header["PIXSCALE"] = (lc.pixel_arcmin, "arcmin per pixel")
        hdus.append(hdu)
    box = lc.box
    cols = [
        fits.Column("box", "J", array=np.arange(lc.spec.n_boxes)),
        fits.Column("z", "D", array=lc.box_z),
        fits.Column("chi_min", "D", unit="Mpc / littleh", array=lc.slice_chi[:, 0] - 0.5 * box.voxel_mpc_h),
        fits.Column("chi_max", "D", unit="Mpc / littleh", array=np.minimum(lc.slice_chi[:, -1] + 0.5 * box.voxel_mpc_h, lc.chi_max)),
    ]
    hdus.append(fits.BinTableHDU.from_columns(cols, name="BOXES"))
    with atomic_path(path) as tmp:
        fits.HDUList(hdus).writeto(tmp, overwrite=True)
    return path


def _preview(result: SurveyResult, l: int, path: Path, n_panels: int = 4) -> Path:
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Circle

    lc = result.lightcone
    boxes = np.unique(np.linspace(0, lc.spec.n_boxes - 1, min(n_panels, lc.spec.n_boxes)).round().astype(int))
    fig = figure((3.3 * len(boxes), 3.4))
    axes = fig.subplots(1, len(boxes), squeeze=False)
    cat = result.catalogue
    for ax, b in zip(axes[0], boxes):
        image = result.maps["cr_05_1"][l, b] + result.maps["cr_1_2"][l, b]
        vmax = max(float(image.max()), 1e-8)
        ax.imshow(np.maximum(image, vmax * 1e-5), origin="lower", cmap="magma", norm=LogNorm(vmax * 1e-5, vmax))
        rows = cat[(cat["lightcone"] == l) & (cat["box"] == b)] if len(cat) else cat
        for row in rows:
            ax.add_patch(Circle((row["x"], row["y"]), 3 + np.sqrt(row["npix"] / np.pi), fill=False, color="cyan", lw=0.8))
        ax.set_title(f"box {b}, z = {lc.box_z[b]:.2f}: {len(rows)} clusters", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"CR [0.5-2] keV ({lc.pixel_arcmin:.2f}' pixels, log scale), light cone {l}", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path, 90)


def write_survey(result: SurveyResult, out: str | Path, *, overwrite: bool = False, previews: bool = True) -> Path:
    """Write a :class:`xcosmo.pipeline.SurveyResult` into the folder ``out`` as one run (:func:`xcosmo.runs.run_folder`:
    a non-empty ``out`` is refused unless ``overwrite``, and ``out/run.json`` lists the files); returns ``out``."""
    from .pipeline import SurveyResult
    from .runs import run_folder

    check_type("result", result, SurveyResult, "an xcosmo.pipeline.SurveyResult")
    with run_folder(out, command="write_survey", overwrite=overwrite, metadata=_run_metadata(result)) as stage:
        write_survey_files(result, stage, previews)
    return Path(out)


def _run_metadata(result: SurveyResult) -> dict:
    return {"params": result.params.as_dict(), "seed": result.seed, "preset": result.preset.name}


def write_survey_files(result: SurveyResult, out: str | Path, previews: bool = True) -> dict[str, Path]:
    """Write the files of a :class:`xcosmo.pipeline.SurveyResult` into the existing folder ``out`` (each atomically,
    but not as one run: use :func:`write_survey` unless ``out`` is a :func:`xcosmo.runs.run_folder` staging folder);
    returns the paths written."""
    from .pipeline import SurveyResult

    check_type("result", result, SurveyResult, "an xcosmo.pipeline.SurveyResult")
    out = ensure_writable_dir(out)
    maps_dir = ensure_writable_dir(out / "maps")
    paths = {"catalogue": write_table(result.catalogue, out / "catalogue.fits")}
    save_xod(out / "xod.h5", result.xod, result.binning, result.survey, result.metadata)
    paths["xod"] = out / "xod.h5"
    for l in range(result.preset.n_lightcones):
        paths[f"maps_{l}"] = write_maps(result, maps_dir / f"lightcone_{l:02d}.fits", l)
    if previews:
        prev = ensure_writable_dir(out / "previews")
        for l in range(min(result.preset.n_lightcones, 2)):
            paths[f"preview_{l}"] = _preview(result, l, prev / f"lightcone_{l:02d}.png")
        paths["xod_png"] = plot_xod(result.xod, result.binning, prev / "xod.png", title=f"simulated XOD ({result.preset.name})")
    return paths
