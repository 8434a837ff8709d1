"""Atmospheric absorption of sound after ISO 9613-1:1993."""

from __future__ import annotations

import numpy as np

_REFERENCE_PRESSURE_KPA = 101.325
_REFERENCE_TEMPERATURE_K = 293.15
_TRIPLE_POINT_K = 273.16


def air_absorption_db_per_m(
    frequency_hz: np.ndarray | float,
    *,
    temperature_c: float = 20.0,
    relative_humidity: float = 50.0,
    pressure_kpa: float = _REFERENCE_PRESSURE_KPA,
) -> np.ndarray:
    """Pure-tone attenuation coefficient of air, ISO 9613-1 equation (5).

    Parameters
    ----------
    frequency_hz : float or np.ndarray
        Frequencies in Hz.
    temperature_c : float, default 20
        Air temperature in °C.
    relative_humidity : float, default 50
        Relative humidity in percent.
    pressure_kpa : float, default 101.325
        Atmospheric pressure in kPa.

    Returns
    -------
    np.ndarray
        Attenuation in dB per metre at each frequency.

    References
    ----------
    ISO 9613-1:1993, Acoustics — Attenuation of sound during propagation outdoors —
    Part 1: Calculation of the absorption of sound by the atmosphere.
    """
    f = np.asarray(frequency_hz, dtype=float)
    t = temperature_c + 273.15
    pa_over_pr = pressure_kpa / _REFERENCE_PRESSURE_KPA
    t_ratio = t / _REFERENCE_TEMPERATURE_K
    # Molar concentration of water vapour (percent), from the saturation vapour pressure (Annex B).
    c_sat = -6.8346 * (_TRIPLE_POINT_K / t) ** 1.261 + 4.6151
    h = relative_humidity * 10.0**c_sat / pa_over_pr
    # Relaxation frequencies of oxygen and nitrogen, Hz.
    fr_o = pa_over_pr * (24.0 + 4.04e4 * h * (0.02 + h) / (0.391 + h))
    fr_n = pa_over_pr * t_ratio**-0.5 * (9.0 + 280.0 * h * np.exp(-4.170 * (t_ratio ** (-1.0 / 3.0) - 1.0)))
    classical = 1.84e-11 / pa_over_pr * t_ratio**0.5
    relaxation = t_ratio**-2.5 * (
        0.01275 * np.exp(-2239.1 / t) / (fr_o + f**2 / fr_o) + 0.1068 * np.exp(-3352.0 / t) / (fr_n + f**2 / fr_n)
    )
    return 8.686 * f**2 * (classical + relaxation)
