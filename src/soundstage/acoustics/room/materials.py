"""Wall materials: random-incidence absorption coefficients per octave band.

Rooms absorb sound differently at each frequency: carpet swallows the highs and leaves the
bass, a gypsum board panel resonates and absorbs the bass. Every surface of a room therefore
carries an absorption coefficient ``α`` per octave band, on the centres of
:data:`~soundstage.acoustics.arrivals.OCTAVE_BANDS_HZ` (125 Hz … 16 kHz). A scene gives a
surface's material as

* a name from :data:`MATERIALS` (``plaster``, ``carpet``, ``acoustic_tile``...),
* one number (the same ``α`` in every band), or
* a list of 6 (125 Hz–4 kHz) or 7 (125 Hz–8 kHz) numbers, or
* ``{absorption: ..., scattering: ...}``, each one number or a list per octave band (the
  absorption may also be a name, whose scattering the second key then replaces).

Every surface also scatters: the share ``s`` of the reflected energy that leaves in all
directions instead of the mirror direction (random-incidence scattering coefficient, ISO
17497-1). The library gives representative values: about 0.05 for large smooth surfaces,
rising with frequency where the surface has relief of a few centimetres (brick joints,
panelling, carpet pile), 0.3–0.7 over an audience and folded curtains — the practice of
room-acoustic modelling (M. Vorländer, *Auralization*, 2nd ed., 2020, §11.5 and appendix; the
ODEON user manual's guidance on scattering). A material given by numbers alone scatters
:data:`DEFAULT_SCATTERING`.

Published tables stop at 4 kHz, some at 8 kHz; higher bands repeat the highest value given
(air absorption, which :mod:`soundstage.acoustics.air_absorption` adds separately, dominates
there in any room larger than a cupboard).

The coefficients are the widely reproduced handbook values (Sabine random-incidence
coefficients measured in reverberation chambers, ISO 354), as tabulated for example in
M. Long, *Architectural Acoustics* (2nd ed., 2014), appendix tables, and F. A. Everest and
K. Pohlmann, *Master Handbook of Acoustics* (6th ed., 2015), appendix. Real products vary
by ±0.05–0.1; give your own numbers where it matters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ
from soundstage.errors import ParameterError


@dataclass(frozen=True)
class Material:
    """A surface finish and its absorption coefficients.

    Attributes
    ----------
    name : str
        Key in :data:`MATERIALS`.
    description : str
        What the coefficients were measured on.
    absorption : tuple of float
        Random-incidence absorption coefficients at 125, 250, 500, 1000, 2000, 4000 Hz (and 8000 Hz
        when the source gives it), each in [0, 1).
    """

    name: str
    description: str
    absorption: tuple[float, ...]
    scattering: tuple[float, ...] = (0.05,)


#: Scattering of smooth, plane surfaces (plaster, glass, concrete, tile, water).
_SMOOTH = (0.05,)
_TABLE = (
    Material("concrete", "unpainted poured concrete", (0.01, 0.02, 0.04, 0.06, 0.08, 0.10), _SMOOTH),
    Material(
        "painted_concrete",
        "painted concrete block",
        (0.10, 0.05, 0.06, 0.07, 0.09, 0.08),
        (0.05, 0.05, 0.10, 0.15, 0.20, 0.25),
    ),
    Material("brick", "unglazed brick", (0.03, 0.03, 0.03, 0.04, 0.05, 0.07), (0.05, 0.05, 0.10, 0.15, 0.20, 0.25)),
    Material("plaster", "gypsum or lime plaster, smooth, on brick", (0.013, 0.015, 0.02, 0.03, 0.04, 0.05), _SMOOTH),
    Material(
        "gypsum_board", "12.5 mm gypsum board on studs, 400 mm centres", (0.29, 0.10, 0.05, 0.04, 0.07, 0.09), _SMOOTH
    ),
    Material("glass", "ordinary window glass", (0.35, 0.25, 0.18, 0.12, 0.07, 0.04), _SMOOTH),
    Material("heavy_glass", "large panes of heavy plate glass", (0.18, 0.06, 0.04, 0.03, 0.02, 0.02), _SMOOTH),
    Material(
        "wood_floor", "wood floor on joists", (0.15, 0.11, 0.10, 0.07, 0.06, 0.07), (0.05, 0.05, 0.05, 0.07, 0.10, 0.12)
    ),
    Material(
        "wood_panel",
        "10 mm plywood panelling",
        (0.28, 0.22, 0.17, 0.09, 0.10, 0.11),
        (0.05, 0.07, 0.10, 0.12, 0.15, 0.20),
    ),
    Material("linoleum", "linoleum, vinyl or rubber tile on concrete", (0.02, 0.03, 0.03, 0.03, 0.03, 0.02), _SMOOTH),
    Material("ceramic_tile", "glazed ceramic tile or marble", (0.01, 0.01, 0.01, 0.01, 0.02, 0.02), _SMOOTH),
    Material(
        "carpet", "heavy carpet on concrete", (0.02, 0.06, 0.14, 0.37, 0.60, 0.65), (0.05, 0.05, 0.10, 0.10, 0.15, 0.20)
    ),
    Material(
        "carpet_on_pad",
        "heavy carpet on foam rubber underlay",
        (0.08, 0.24, 0.57, 0.69, 0.71, 0.73),
        (0.05, 0.05, 0.10, 0.10, 0.15, 0.20),
    ),
    Material(
        "acoustic_tile",
        "mineral-fibre ceiling tile, suspended",
        (0.70, 0.66, 0.72, 0.92, 0.88, 0.75),
        (0.05, 0.10, 0.10, 0.15, 0.20, 0.20),
    ),
    Material(
        "heavy_curtain",
        "heavy velour curtain, draped to half its area",
        (0.14, 0.35, 0.55, 0.72, 0.70, 0.65),
        (0.10, 0.20, 0.30, 0.40, 0.50, 0.60),
    ),
    Material(
        "audience",
        "audience seated in upholstered seats",
        (0.39, 0.57, 0.80, 0.94, 0.92, 0.87),
        (0.30, 0.40, 0.50, 0.60, 0.70, 0.70),
    ),
    Material("water", "water surface, as of a swimming pool", (0.008, 0.008, 0.013, 0.015, 0.020, 0.025), _SMOOTH),
    Material("asphalt", "asphalt or concrete pavement outdoors", (0.02, 0.02, 0.03, 0.03, 0.03, 0.02), _SMOOTH),
    Material(
        "grass",
        "lawn over soil; representative only, ground varies widely with moisture",
        (0.11, 0.26, 0.60, 0.69, 0.92, 0.99),
        (0.10, 0.15, 0.20, 0.30, 0.40, 0.50),
    ),
)

#: The materials library by name.
MATERIALS: dict[str, Material] = {material.name: material for material in _TABLE}

MaterialSpec = str | float | Sequence[float] | Mapping[str, object]

#: Scattering of a material given by absorption numbers alone.
DEFAULT_SCATTERING = 0.1
#: The keys of a material given as a mapping.
MATERIAL_KEYS = ("absorption", "scattering")


def is_material_mapping(spec: object) -> bool:
    """Whether ``spec`` is one material written as ``{absorption: ..., scattering: ...}`` (not surfaces → materials).

    >>> is_material_mapping({"absorption": 0.1, "scattering": 0.3}), is_material_mapping({"floor": "carpet"})
    (True, False)
    """
    return isinstance(spec, Mapping) and "absorption" in spec and set(spec) <= set(MATERIAL_KEYS)


def scattering_coefficients(spec: MaterialSpec, *, field: str = "material") -> np.ndarray:
    """Scattering per octave band of a material (see the module docstring for the forms it takes).

    Parameters
    ----------
    spec : str, float, sequence of float or mapping
        As for :func:`absorption_coefficients`.
    field : str
        Where ``spec`` came from, for error messages.

    Returns
    -------
    np.ndarray, shape (len(OCTAVE_BANDS_HZ),)
        Coefficients in [0, 1]; bands above the last given repeat its value.

    Examples
    --------
    >>> scattering_coefficients("audience")[:3].tolist()
    [0.3, 0.4, 0.5]
    >>> scattering_coefficients(0.2)[:2].tolist(), scattering_coefficients({"absorption": 0.2, "scattering": 0.3})[0]
    ([0.1, 0.1], np.float64(0.3))
    """
    if is_material_mapping(spec):
        given = spec.get("scattering")  # type: ignore[union-attr]
        if given is None:
            return scattering_coefficients(spec["absorption"], field=field)  # type: ignore[index]
        values = _band_values(given, f"{field}.scattering", "scattering coefficient")
        if np.any(values > 1.0) or np.any(values < 0.0):
            raise ParameterError(
                f"{field}.scattering: scattering coefficients must be in [0, 1], got {values.tolist()}"
            )
        return _to_bands(values)
    if isinstance(spec, str):
        material = MATERIALS.get(spec.strip().lower())
        if material is not None:
            return _to_bands(np.asarray(material.scattering, dtype=float))
    return np.full(len(OCTAVE_BANDS_HZ), DEFAULT_SCATTERING)


def _band_values(spec: object, field: str, what: str) -> np.ndarray:
    """One number or 6–7 numbers per octave band from 125 Hz, as an array (finite, else an error)."""
    try:
        values = np.atleast_1d(np.asarray(spec, dtype=float))
    except (TypeError, ValueError):
        raise ParameterError(f"{field}: give one {what} or one per octave band from 125 Hz, got {spec!r}") from None
    if values.ndim != 1 or len(values) not in (1, 6, 7):
        raise ParameterError(
            f"{field}: give one {what} or one per octave band from 125 Hz "
            f"(6 up to 4 kHz or 7 up to 8 kHz), got {values.size} values"
        )
    if not np.all(np.isfinite(values)):
        raise ParameterError(f"{field}: {what}s must be finite numbers, got {values.tolist()}")
    return values


def _to_bands(values: np.ndarray) -> np.ndarray:
    n_bands = len(OCTAVE_BANDS_HZ)
    return np.concatenate([values, np.full(n_bands - len(values), values[-1])])[:n_bands]


def absorption_coefficients(spec: MaterialSpec, *, field: str = "material") -> np.ndarray:
    """Absorption per octave band of a material given by name, one number, a list of bands or a mapping.

    Parameters
    ----------
    spec : str, float, sequence of float or mapping
        A name from :data:`MATERIALS`, one coefficient for every band, 6 (125 Hz–4 kHz) or
        7 (125 Hz–8 kHz) coefficients per octave band, or ``{absorption: ..., scattering: ...}``
        (its scattering is checked here too).
    field : str
        Where ``spec`` came from, for error messages (``"room.materials.floor"``).

    Returns
    -------
    np.ndarray, shape (len(OCTAVE_BANDS_HZ),)
        Coefficients in [0, 1) at every band of :data:`OCTAVE_BANDS_HZ`; bands above the last
        given repeat its value.

    Raises
    ------
    ParameterError
        For an unknown name (listing the known ones), a wrong number of bands or a
        coefficient outside [0, 1).

    Examples
    --------
    >>> absorption_coefficients("carpet")[:3]
    array([0.02, 0.06, 0.14])
    >>> absorption_coefficients(0.3).tolist()
    [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
    """
    if isinstance(spec, Mapping):
        if not is_material_mapping(spec):
            raise ParameterError(
                f"{field}: a material written as a mapping takes absorption (required) and scattering, "
                f"got {', '.join(map(str, spec)) or 'nothing'}"
            )
        scattering_coefficients(spec, field=field)  # checked here, so one check serves both
        return absorption_coefficients(spec["absorption"], field=f"{field}.absorption")  # type: ignore[arg-type]
    if isinstance(spec, str):
        material = MATERIALS.get(spec.strip().lower())
        if material is None:
            raise ParameterError(
                f"{field}: unknown material {spec!r}; use one of {', '.join(MATERIALS)}, "
                "a number, or absorption per octave band from 125 Hz (6 or 7 numbers)"
            )
        values = np.asarray(material.absorption, dtype=float)
    else:
        values = _band_values(spec, field, "absorption coefficient")
    if np.any(values < 0.0) or np.any(values >= 1.0):
        raise ParameterError(
            f"{field}: absorption coefficients must be in [0, 1) (1 would be a perfect absorber), got {values.tolist()}"
        )
    return _to_bands(values)
