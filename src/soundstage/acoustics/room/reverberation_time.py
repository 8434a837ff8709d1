"""Statistical room acoustics: Sabine's, Eyring's and Arau-Puchades' reverberation times, inverses, and where
the statistics stop holding (the Schroeder frequency).

With ``V`` the volume (m³), ``S_i`` and ``α_i`` the area (m²) and absorption of each surface,
``S = Σ S_i``, ``ᾱ = Σ S_i α_i / S``, ``c`` the speed of sound and ``m`` the energy attenuation
of air per metre (Np of energy, ``m = a_dB / (10 log₁₀ e)`` for ``a_dB`` dB/m):

* Sabine:  ``T = 24 ln 10 · V / (c (S ᾱ + 4 m V))``
* Eyring:  ``T = 24 ln 10 · V / (c (−S ln(1 − ᾱ) + 4 m V))``

Eyring's formula follows from a diffuse field losing a fraction ``ᾱ`` of its energy at each
reflection, ``c S / (4 V)`` reflections per second (mean free path ``4V/S``); Sabine's is its
limit for small ``ᾱ``. ``24 ln 10 / c`` ≈ 0.161 s/m at 343 m/s.

References
----------
H. Kuttruff, *Room Acoustics* (6th ed., 2017), §5.1–5.4.
"""

from __future__ import annotations

import math

import numpy as np

from soundstage.conventions import SPEED_OF_SOUND
from soundstage.errors import ParameterError

#: dB per neper of energy: 10 log10(e).
_DB_PER_NEPER = 10.0 / math.log(10.0)


def air_energy_attenuation(attenuation_db_per_m: np.ndarray | float) -> np.ndarray:
    """Energy attenuation ``m`` in 1/m from an attenuation in dB/m (``m = a_dB / 4.343``)."""
    return np.asarray(attenuation_db_per_m, dtype=float) / _DB_PER_NEPER


def mean_absorption(areas_m2: np.ndarray, absorption: np.ndarray) -> np.ndarray:
    """Area-weighted mean absorption ``ᾱ`` per band.

    Parameters
    ----------
    areas_m2 : np.ndarray, shape (S,)
        Area of each surface.
    absorption : np.ndarray, shape (S, B)
        Absorption coefficient of each surface in each band.

    Returns
    -------
    np.ndarray, shape (B,)
    """
    areas = np.asarray(areas_m2, dtype=float)
    return areas @ np.asarray(absorption, dtype=float) / areas.sum()


def eyring_rt60(
    volume_m3: float,
    areas_m2: np.ndarray,
    absorption: np.ndarray,
    *,
    air_attenuation_db_per_m: np.ndarray | float = 0.0,
    speed_of_sound: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Eyring's reverberation time per band, in seconds.

    Parameters
    ----------
    volume_m3 : float
        Room volume.
    areas_m2 : np.ndarray, shape (S,)
        Surface areas.
    absorption : np.ndarray, shape (S, B)
        Absorption coefficients in [0, 1).
    air_attenuation_db_per_m : float or np.ndarray, shape (B,)
        Air attenuation in each band (0 leaves air out).
    speed_of_sound : float, default 343
        In m/s.

    Returns
    -------
    np.ndarray, shape (B,)
        Infinite in a band where nothing absorbs (no surface absorption, no air absorption).

    Examples
    --------
    >>> areas = np.array([2 * 8 * 6, 2 * 8 * 3, 2 * 6 * 3])   # an 8 × 6 × 3 m room
    >>> eyring_rt60(144.0, areas, np.full((3, 1), 0.2)).round(3)
    array([0.578])
    """
    alpha = mean_absorption(areas_m2, absorption)
    surface = float(np.sum(areas_m2))
    m = air_energy_attenuation(air_attenuation_db_per_m)
    loss = -surface * np.log1p(-alpha) + 4.0 * m * volume_m3
    with np.errstate(divide="ignore"):  # no loss at all: the sound never decays, RT60 = inf
        return 24.0 * math.log(10.0) * volume_m3 / (speed_of_sound * loss)


def arau_puchades_rt60(
    volume_m3: float,
    areas_m2: np.ndarray,
    absorption: np.ndarray,
    normals: np.ndarray,
    *,
    air_attenuation_db_per_m: np.ndarray | float = 0.0,
    speed_of_sound: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Arau-Puchades' reverberation time per band, for absorption spread unevenly over the room, in seconds.

    Each surface counts towards the axis its normal is closest to; with ``S_x`` and ``ᾱ_x`` the
    area and mean absorption of the surfaces facing along x (and so on), the decay is the
    area-weighted geometric mean of three Eyring decays (H. Arau-Puchades, *An improved
    reverberation formula*, Acustica 65, 1988):

    ``T = Π_k [24 ln 10 · V / (c (−S ln(1 − ᾱ_k) + 4 m V))]^(S_k / S)``

    It equals Eyring's time when the absorption is even, and is longer when one pair of
    surfaces (a carpeted floor and an absorbing ceiling) holds most of it: sound travelling
    between the other walls decays more slowly and dominates the late decay. Where one pair of
    surfaces absorbs nothing at all (and no air), the product is infinite and Eyring's time is
    returned for that band.

    Parameters
    ----------
    volume_m3, areas_m2, absorption, air_attenuation_db_per_m, speed_of_sound
        As for :func:`eyring_rt60`.
    normals : np.ndarray, shape (S, 3)
        Unit normal of each surface.

    Returns
    -------
    np.ndarray, shape (B,)

    Examples
    --------
    >>> areas = np.array([48.0, 48.0, 24.0, 24.0, 18.0, 18.0])   # 8 × 6 × 3 m: floor, ceiling, walls
    >>> normals = np.array([[0, 0, 1], [0, 0, -1], [0, 1, 0], [0, -1, 0], [1, 0, 0], [-1, 0, 0]])
    >>> even = np.full((6, 1), 0.2)
    >>> bool(np.allclose(arau_puchades_rt60(144.0, areas, even, normals), eyring_rt60(144.0, areas, even)))
    True
    >>> uneven = np.array([[0.5], [0.5], [0.05], [0.05], [0.05], [0.05]])   # absorbing floor and ceiling
    >>> bool(arau_puchades_rt60(144.0, areas, uneven, normals)[0] > eyring_rt60(144.0, areas, uneven)[0])
    True
    >>> hard_floor_and_ceiling = np.array([[0.0], [0.0], [0.3], [0.3], [0.3], [0.3]])
    >>> bool(np.isfinite(arau_puchades_rt60(144.0, areas, hard_floor_and_ceiling, normals)[0]))
    True
    """
    areas = np.asarray(areas_m2, dtype=float)
    absorption = np.asarray(absorption, dtype=float)
    axis = np.argmax(np.abs(np.asarray(normals, dtype=float)), axis=1)
    surface = float(areas.sum())
    m = air_energy_attenuation(air_attenuation_db_per_m)
    log_time = np.zeros(absorption.shape[1])
    for k in range(3):
        facing = axis == k
        share = float(areas[facing].sum()) / surface
        if share == 0.0:
            continue
        alpha = mean_absorption(areas[facing], absorption[facing])
        loss = -surface * np.log1p(-alpha) + 4.0 * m * volume_m3
        with np.errstate(divide="ignore"):
            log_time = log_time + share * np.log(24.0 * math.log(10.0) * volume_m3 / (speed_of_sound * loss))
    # A pair of surfaces that absorbs nothing makes the product infinite although sound reaching the others
    # decays: the formula does not hold there, and Eyring's time stands in.
    eyring = eyring_rt60(
        volume_m3, areas, absorption, air_attenuation_db_per_m=air_attenuation_db_per_m, speed_of_sound=speed_of_sound
    )
    return np.where(np.isfinite(log_time), np.exp(log_time), eyring)


def sabine_rt60(
    volume_m3: float,
    areas_m2: np.ndarray,
    absorption: np.ndarray,
    *,
    air_attenuation_db_per_m: np.ndarray | float = 0.0,
    speed_of_sound: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Sabine's reverberation time per band, in seconds (parameters as :func:`eyring_rt60`).

    Examples
    --------
    >>> areas = np.array([2 * 8 * 6, 2 * 8 * 3, 2 * 6 * 3])
    >>> sabine_rt60(144.0, areas, np.full((3, 1), 0.2)).round(3)
    array([0.644])
    """
    alpha = mean_absorption(areas_m2, absorption)
    surface = float(np.sum(areas_m2))
    m = air_energy_attenuation(air_attenuation_db_per_m)
    return 24.0 * math.log(10.0) * volume_m3 / (speed_of_sound * (surface * alpha + 4.0 * m * volume_m3))


def schroeder_frequency(volume_m3: float, rt60_s: np.ndarray | float) -> np.ndarray:
    """The Schroeder frequency ``2000 √(T / V)`` Hz: below it a room's modes stand apart (fewer than three in each
    mode's bandwidth) and its sound field is modal rather than diffuse (Kuttruff, *Room Acoustics*, §3.6).

    Examples
    --------
    >>> float(schroeder_frequency(146.0, 1.9).round(1))    # the BRAS seminar room
    228.2
    """
    return 2000.0 * np.sqrt(np.asarray(rt60_s, dtype=float) / volume_m3)


def modal_bands(volume_m3: float, rt60_s: np.ndarray, band_centers_hz: np.ndarray) -> np.ndarray:
    """Which octave bands reach below the Schroeder frequency of their own decay (lower edge ``f / √2``).

    Examples
    --------
    >>> modal_bands(146.0, np.array([1.46, 1.37, 2.04]), np.array([125.0, 250.0, 500.0])).tolist()
    [True, True, False]
    """
    centers = np.asarray(band_centers_hz, dtype=float)
    return centers / math.sqrt(2.0) < schroeder_frequency(volume_m3, rt60_s)


def eyring_absorption_for_rt60(
    rt60_s: float,
    volume_m3: float,
    surface_m2: float,
    *,
    air_attenuation_db_per_m: np.ndarray | float = 0.0,
    speed_of_sound: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """The uniform absorption that gives a target Eyring reverberation time.

    Parameters
    ----------
    rt60_s : float
        Target reverberation time in seconds.
    volume_m3, surface_m2 : float
        Room volume and total surface area.
    air_attenuation_db_per_m : float or np.ndarray, shape (B,)
        Air attenuation per band; the walls then absorb what air does not.
    speed_of_sound : float, default 343
        In m/s.

    Returns
    -------
    np.ndarray
        ``α`` per band (shape of ``air_attenuation_db_per_m``), in [0, 1).

    Raises
    ------
    ParameterError
        If the target is too long for the air alone (α would be negative) or so short that the
        walls would have to absorb everything.

    Examples
    --------
    >>> float(eyring_absorption_for_rt60(0.578, 144.0, 180.0).round(3))
    0.2
    """
    if not (np.isfinite(rt60_s) and rt60_s > 0):
        raise ParameterError(f"room.rt60 must be a positive number of seconds, got {rt60_s!r}")
    m = air_energy_attenuation(air_attenuation_db_per_m)
    wall_loss = (24.0 * math.log(10.0) * volume_m3 / (speed_of_sound * rt60_s) - 4.0 * m * volume_m3) / surface_m2
    alpha = -np.expm1(-wall_loss)
    if np.any(wall_loss < 0):
        longest = float(np.min(24.0 * math.log(10.0) / (speed_of_sound * 4.0 * np.maximum(m, 1e-300))))
        raise ParameterError(
            f"room.rt60 = {rt60_s} s is longer than the air alone allows in this room ({longest:.2f} s); "
            "shorten it or turn air absorption off"
        )
    if np.any(alpha >= 0.999):
        shortest = 24.0 * math.log(10.0) * volume_m3 / (speed_of_sound * surface_m2 * -math.log(1e-3))
        raise ParameterError(
            f"room.rt60 = {rt60_s} s is too short for this room: the walls would absorb everything "
            f"(the shortest is about {shortest:.3f} s); give a longer rt60"
        )
    return alpha
