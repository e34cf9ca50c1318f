"""Simulation presets: typed settings of the light-cone pipeline, loaded from the YAML files shipped here.

=============  ========================================================================================
``tiny``       seconds on a laptop: 1 deg^2, 4 boxes of 1 Mpc/h voxels, the power-law painter; for tests
``quickstart`` one 2 deg^2 light cone of 12 boxes at 0.39 Mpc/h, the eLDL: a few minutes on a 2-core CPU
``paper``      the paper's configuration: ten 20 deg^2 light cones of 12 boxes at 0.39 Mpc/h from z = 99 (GPU)
=============  ========================================================================================

A :class:`Preset` can also be built in Python or read from a YAML file (:meth:`Preset.from_yaml`) that either changes
a shipped preset (``base: quickstart`` and the changed settings) or gives every setting; :meth:`Preset.replace`
overrides fields (the CLI flags do).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from ..checks import check_choice, check_integer, check_number, check_type
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
    painter : the baryon painter by name (:func:`xcosmo.painting.named_painter`): ``eldl``, the shipped extended
        LDL (trained on 0.39 Mpc/h voxels), or ``power-law``, the baseline.
    """

    name: str = "custom"
    description: str = ""
    lightcone: LightConeSpec = field(default_factory=LightConeSpec)
    pm: PMSettings = field(default_factory=PMSettings)
    n_lightcones: int = 1
    cr_min: float = 0.02
    threshold_ct_s_arcmin2: float = 1e-6
    min_area: int = 5
    painter: str = "eldl"

    def __post_init__(self):
        from ..painting import painter_names

        check_choice("painter", self.painter, painter_names())
        check_integer("n_lightcones", self.n_lightcones, 1, 10001)
        check_number("cr_min", self.cr_min, 0.0, math.inf, open=True, unit="counts/s")
        check_number("threshold_ct_s_arcmin2", self.threshold_ct_s_arcmin2, 0.0, math.inf, open=True,
                     unit="counts/s/arcmin^2")  # fmt: skip
        check_integer("min_area", self.min_area, 1)

    @classmethod
    def from_dict(cls, d: dict, source: str = "preset") -> "Preset":
        """Build from nested dictionaries (the YAML layout: ``lightcone:``, ``pm:`` and ``detection:`` sections).

        A preset either names the preset it changes, ``base: quickstart`` (then only the changed settings are
        given), or gives every setting: a missing one is an error, never a silent default. Unknown keys and sections
        are errors too. ``source`` (the file) is named in the messages.
        """
        check_type(f"{source}: top level", d, dict, "a mapping of settings (base:, name:, lightcone:, pm:, ...)")
        d = dict(d)
        base = d.pop("base", None)
        if base is not None:
            check_choice(f"{source}: base", base, PRESET_NAMES)
            d.setdefault("name", f"{base}-custom")
            d.setdefault("description", f"{base} with changed settings {sorted(k for k in d if k != 'name')}")
            return _merge(load_preset(base).as_nested(), d, source)
        full = cls().as_nested()
        missing = [k for k in full if k not in d]
        missing += [f"{k}.{sub}" for k, v in full.items() if isinstance(v, dict) and isinstance(d.get(k), dict)
                    for sub in v if sub not in d[k]]  # fmt: skip
        if missing:
            raise ValueError(f"{source}: setting(s) {missing} are missing: name the preset this one changes "
                             f"(base: one of {PRESET_NAMES}) or give every setting")  # fmt: skip
        return _merge(full, d, source)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "Preset":
        """Read a preset file (see :meth:`from_dict`); ``FileNotFoundError`` if missing, ``ValueError`` naming the
        file if it is not a YAML mapping of known settings."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"preset file {str(path)!r} not found")
        source = f"preset file {str(path)!r}"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ValueError(f"{source} is not a text (YAML) file") from None
        except yaml.YAMLError as err:
            raise ValueError(f"{source} is not valid YAML: {' '.join(str(err).split())}") from None
        if data is None:
            raise ValueError(f"{source} is empty: name the preset it changes (base: quickstart) and the settings "
                             "it changes, or give every setting")  # fmt: skip
        return cls.from_dict(data, source)

    def as_nested(self) -> dict:
        """The YAML layout: top-level settings and the ``lightcone``, ``pm`` and ``detection`` sections."""
        flat = dataclasses.asdict(self)
        flat["detection"] = {k: flat.pop(k) for k in _DETECTION_KEYS}
        return flat

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


_DETECTION_KEYS = ("threshold_ct_s_arcmin2", "min_area")


def _merge(base: dict, changes: dict, source: str) -> Preset:
    """``base`` (the YAML layout) with ``changes`` applied section by section; unknown keys are refused."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, value in changes.items():
        if key not in merged:
            raise ValueError(f"{source}: unknown setting {key!r}: allowed are {sorted(merged) + ['base']}")
        if isinstance(merged[key], dict):
            check_type(f"{source}: {key}", value, dict, f"a mapping of {sorted(merged[key])}")
            unknown = sorted(set(value) - set(merged[key]))
            if unknown:
                raise ValueError(f"{source}: unknown {key} setting(s) {unknown}: allowed are {sorted(merged[key])}")
            merged[key].update(value)
        else:
            merged[key] = value
    check_type(f"{source}: name", merged["name"], str, "a string")
    check_type(f"{source}: description", merged["description"], str, "a string")
    detection = merged.pop("detection")
    return Preset(lightcone=LightConeSpec(**merged.pop("lightcone")), pm=PMSettings(**merged.pop("pm")), **merged,
                  **detection)  # fmt: skip


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
