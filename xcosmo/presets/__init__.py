"""Simulation presets: typed settings of the light-cone pipeline, loaded from the YAML files shipped here.

=============  ========================================================================================
``tiny``       seconds on a laptop: 1 deg^2, 4 boxes of 2 Mpc/h voxels; for tests
``quickstart`` one 5 deg^2 light cone of 12 boxes at 0.78 Mpc/h: a few minutes on a 2-core CPU
``paper``      the paper's configuration: ten 20 deg^2 light cones of 12 boxes at 0.39 Mpc/h from z = 99 (GPU)
=============  ========================================================================================

A :class:`Preset` can also be built in Python or read from any YAML file with the same keys
(:meth:`Preset.from_yaml`); :meth:`Preset.replace` overrides fields (the CLI flags do).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from ..checks import check_integer, check_number
from ..lightcone import LightConeSpec
from ..nbody import PMSettings

__all__ = ["Preset", "PRESET_NAMES", "load_preset"]

PRESET_NAMES = ("tiny", "quickstart", "paper")


@dataclass(frozen=True)
class Preset:
    """Settings of one simulated survey.

    Attributes
    ----------
    name, description : labels written into the outputs' metadata.
    lightcone : footprint, redshift range, boxes, voxel and pixel sizes (:class:`xcosmo.lightcone.LightConeSpec`).
    pm : particle-mesh time integration (:class:`xcosmo.nbody.PMSettings`).
    n_lightcones : independent light cones whose catalogues make one XOD (paper: 10 x 20 deg^2 = 200 deg^2).
    cr_min : flux cut on CR[0.5-2], counts/s (paper: 0.02).
    threshold_ct_s_arcmin2 : sep's absolute detection threshold on the [0.5-2] keV map, counts/s per arcmin^2
        (converted to counts/s per pixel for the preset's pixel size; see :mod:`xcosmo.detect` for the choice).
    min_area : minimum source area, pixels.
    """

    name: str = "custom"
    description: str = ""
    lightcone: LightConeSpec = field(default_factory=LightConeSpec)
    pm: PMSettings = field(default_factory=PMSettings)
    n_lightcones: int = 1
    cr_min: float = 0.02
    threshold_ct_s_arcmin2: float = 1e-6
    min_area: int = 5

    def __post_init__(self):
        check_integer("n_lightcones", self.n_lightcones, 1, 10001)
        check_number("cr_min", self.cr_min, 0.0, math.inf, open=True, unit="counts/s")
        check_number("threshold_ct_s_arcmin2", self.threshold_ct_s_arcmin2, 0.0, math.inf, open=True,
                     unit="counts/s/arcmin^2")  # fmt: skip
        check_integer("min_area", self.min_area, 1)

    @classmethod
    def from_dict(cls, d: dict) -> "Preset":
        """Build from nested dictionaries (the YAML layout); unknown keys are an error."""
        d = dict(d)
        known = {f.name for f in dataclasses.fields(cls)} | {"detection"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown preset key(s) {unknown}: allowed keys are {sorted(known)}")
        detection = d.pop("detection", {}) or {}
        try:
            lightcone = LightConeSpec(**d.pop("lightcone", {}))
            pm = PMSettings(**d.pop("pm", {}))
        except TypeError as err:  # an unknown keyword, or a value of the wrong type
            raise ValueError(f"preset: {err}") from None
        return cls(lightcone=lightcone, pm=pm, **d, **detection)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "Preset":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"preset file {str(path)!r} not found")
        with open(path) as f:
            return cls.from_dict(yaml.safe_load(f) or {})

    def replace(self, **changes) -> "Preset":
        """A copy with fields changed; ``lightcone`` and ``pm`` fields may be given by name (``voxel_mpc_h=...``)."""
        lc = {k: changes.pop(k) for k in list(changes) if k in LightConeSpec.__dataclass_fields__}
        pm = {k: changes.pop(k) for k in list(changes) if k in PMSettings.__dataclass_fields__}
        return dataclasses.replace(
            self,
            lightcone=dataclasses.replace(self.lightcone, **lc),
            pm=dataclasses.replace(self.pm, **pm),
            **changes,
        )

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def survey_area_deg2(self) -> float:
        """Total area of the XOD, deg^2: n_lightcones x light-cone area."""
        return self.n_lightcones * self.lightcone.area_deg2


def load_preset(preset: str | Path | Preset) -> Preset:
    """A shipped preset by name (``tiny``, ``quickstart``, ``paper``), a YAML file, or a :class:`Preset` as is."""
    if isinstance(preset, Preset):
        return preset
    if isinstance(preset, str) and preset in PRESET_NAMES:
        text = resources.files(__name__).joinpath(f"{preset}.yaml").read_text()
        return Preset.from_dict(yaml.safe_load(text))
    if isinstance(preset, (str, Path)) and Path(preset).suffix in (".yaml", ".yml"):
        return Preset.from_yaml(preset)
    raise ValueError(f"preset = {preset!r}: allowed values are {PRESET_NAMES} or the path of a .yaml file")
