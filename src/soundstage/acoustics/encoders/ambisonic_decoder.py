"""Ambisonics → binaural by virtual loudspeakers.

The ambisonic signals are decoded to Q virtual loudspeakers on a point set that integrates
degree 2N exactly (:func:`~soundstage.acoustics.encoders.tdesign.spherical_quadrature`),
each speaker feed is convolved with the far-field HRIR pair of its direction, and the
results are summed. With quadrature weights ``w_q`` and per-degree weights ``a_l`` the
sampling decoder is

.. math::

    s_q(t) = w_q \\sum_{l, m} a_l (2 l + 1) \\, Y_l^m(u_q) \\, b_l^m(t)
    \\qquad (\\text{SN3D } Y \\text{ and } b),

so a plane wave from ``u`` gives ``s_q = w_q Σ_l a_l (2l + 1) P_l(u · u_q)`` and the feeds sum
to ``a_0 = 1``: the pressure at the head centre is kept. With all ``a_l = 1`` (the basic,
mode-matching decoder) the sound field is right around the head up to ``k r ≈ N``, and so
are the interaural time differences. Above that, ``max_re`` switches to Zotter & Frank's
``a_l = P_l(cos(137.9° / (N + 1.51)))``, which concentrates the energy over the speakers
nearest the source (sharper level differences). The two are joined by a 4th-order
Linkwitz–Riley crossover at ``f_x = N c / (2 π r)`` (r = 8.75 cm: 624 Hz at first order,
1.87 kHz at third), whose bands sum to an all-pass, the same for every channel and ear.

Since everything is linear, the whole decoder collapses into one filter per
(ear, ambisonic channel): :func:`ambisonic_binaural_filters`.
The HRTFs are used whole, so the binaural output lags the ambisonic signals by the HRTF's
latency (``hrtf.latency_s``): removing it would cut the onset at the ear nearer the source,
which hears a wave up to ``head radius / c`` before the head centre does.
"""

from __future__ import annotations

import math

import numpy as np

from soundstage.acoustics.encoders.band_filter import linkwitz_riley
from soundstage.acoustics.encoders.spherical_harmonics import acn_degrees, direction_harmonics, fuma_to_ambix
from soundstage.acoustics.encoders.tdesign import spherical_quadrature
from soundstage.acoustics.hrtf.base import HRTF
from soundstage.conventions import DEFAULT_HEAD_RADIUS, SPEED_OF_SOUND
from soundstage.errors import ParameterError


def max_re_weights(order: int) -> np.ndarray:
    """Per-degree max-rE weights ``a_l = P_l(cos(137.9° / (N + 1.51)))``, shape (N + 1,), ``a_0 = 1``.

    Examples
    --------
    >>> w = max_re_weights(1)    # first order's exact max-rE weight is 1/√3
    >>> float(w[0]), bool(abs(w[1] - 1 / np.sqrt(3)) < 0.005)
    (1.0, True)
    """
    from scipy.special import eval_legendre

    x = math.cos(math.radians(137.9 / (order + 1.51)))
    return eval_legendre(np.arange(order + 1), x)


def max_re_crossover_hz(order: int) -> float:
    """Frequency above which max-rE weighting is used: ``N c / (2 π r)`` for the default head radius, Hz.

    Examples
    --------
    >>> round(max_re_crossover_hz(3))
    1872
    """
    return order * SPEED_OF_SOUND / (2.0 * math.pi * DEFAULT_HEAD_RADIUS)


def sampling_decoder(order: int, *, max_re: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Virtual loudspeaker directions and the matrix from AmbiX (SN3D) signals to their feeds.

    Parameters
    ----------
    order : int
        Ambisonic order N ≥ 1.
    max_re : bool, default False
        Apply max-rE per-degree weights (else the basic decoder, all ``a_l = 1``).

    Returns
    -------
    directions : np.ndarray, shape (Q, 3)
        Unit vectors of the virtual speakers (a point set exact to degree 2N).
    matrix : np.ndarray, shape (Q, (N + 1)²)
        Speaker feeds are ``matrix @ signals``.
    """
    directions, weights = spherical_quadrature(2 * order)
    degrees = acn_degrees(order)
    per_degree = max_re_weights(order) if max_re else np.ones(order + 1)
    harmonics = direction_harmonics(order, directions, "sn3d")
    matrix = weights[:, None] * harmonics * (per_degree[degrees] * (2 * degrees + 1))[None, :]
    return directions, matrix


def ambisonic_binaural_filters(order: int, hrtf: HRTF, *, max_re: bool = True) -> np.ndarray:
    """One filter per ear and AmbiX channel that decodes ambisonics to binaural.

    Parameters
    ----------
    order : int
        Ambisonic order N ≥ 1.
    hrtf : HRTF
        The head; its far-field responses are used (``distance = inf``).
    max_re : bool, default True
        Use max-rE weights above :func:`max_re_crossover_hz` (basic decoding below it);
        False decodes with the basic decoder at all frequencies.

    Returns
    -------
    np.ndarray, shape (2, (N + 1)², n_taps)
        ``ear[e] = Σ_i filters[e, i] * signals[i]`` (convolution) for AmbiX (ACN/SN3D) signals,
        ``n_taps`` is ``hrtf.n_taps`` plus the crossover's length with ``max_re``; the HRTF's
        latency is kept (see the module notes).
    """
    if not (isinstance(order, int | np.integer) and order >= 1):
        raise ParameterError(f"ambisonic order must be an integer of at least 1, got {order!r}")
    directions, matrix = sampling_decoder(order, max_re=False)
    hrirs = np.asarray(hrtf.hrirs(directions, np.full(len(directions), np.inf)), dtype=float)  # (Q, 2, L)
    filters = np.einsum("qi,qel->eil", matrix, hrirs)
    if not max_re:
        return filters
    from scipy.signal import oaconvolve

    # max-rE differs from basic only by a per-degree gain, so each channel's filter goes
    # through the crossover: low band as is, high band scaled by a_l.
    crossover = max_re_crossover_hz(order)
    if crossover >= 0.45 * hrtf.sample_rate:
        return filters
    low = linkwitz_riley(crossover, hrtf.sample_rate, "lowpass")
    high = linkwitz_riley(crossover, hrtf.sample_rate, "highpass")
    per_channel = low[None, :] + max_re_weights(order)[acn_degrees(order)][:, None] * high[None, :]
    return oaconvolve(filters, per_channel[None, :, :], axes=-1)


def ambisonics_to_binaural(
    signals: np.ndarray,
    sample_rate: int,
    hrtf: HRTF,
    *,
    order: int | None = None,
    convention: str = "ambix",
    max_re: bool = True,
) -> np.ndarray:
    """Decode ambisonic signals to binaural through virtual loudspeakers.

    Parameters
    ----------
    signals : np.ndarray, shape ((N + 1)², n_samples)
        Ambisonic signals: AmbiX (ACN/SN3D) or, for first order, FuMa (W X Y Z).
    sample_rate : int
        Sample rate of ``signals`` in Hz; must equal ``hrtf.sample_rate``.
    hrtf : HRTF
        Head of the virtual listener.
    order : int or None
        Ambisonic order; None infers it from the channel count.
    convention : {"ambix", "fuma"}, default "ambix"
    max_re : bool, default True
        See :func:`ambisonic_binaural_filters`.

    Returns
    -------
    np.ndarray, shape (2, n_samples + n_taps - 1)
        Left and right ear signals (float64), the full convolution with the filters of
        :func:`ambisonic_binaural_filters`, lagging the input by ``hrtf.latency_s``.

    Raises
    ------
    ParameterError
        For a channel count that is not (N + 1)², one that disagrees with ``order``, FuMa above
        first order, an unknown convention or a sample-rate mismatch.
    """
    from scipy.signal import oaconvolve

    signals = np.asarray(signals)
    if signals.ndim != 2:
        raise ParameterError(f"signals must have shape (channels, samples), got {signals.shape}")
    n_channels = signals.shape[0]
    inferred = math.isqrt(n_channels) - 1
    if inferred < 1 or (inferred + 1) ** 2 != n_channels:
        raise ParameterError(f"signals have {n_channels} channels, not an ambisonic count (N+1)² such as 4, 9 or 16")
    if order is not None and order != inferred:
        raise ParameterError(f"order {order} needs {(order + 1) ** 2} channels, but signals have {n_channels}")
    if convention not in ("ambix", "fuma"):
        raise ParameterError(f"convention must be 'ambix' or 'fuma', got {convention!r}")
    if convention == "fuma":
        signals = fuma_to_ambix(signals)
    if int(hrtf.sample_rate) != int(sample_rate):
        raise ParameterError(
            f"hrtf {hrtf.name!r} is at {hrtf.sample_rate} Hz but the signals are at {sample_rate} Hz; "
            "load the HRTF at the signals' rate"
        )
    filters = ambisonic_binaural_filters(inferred, hrtf, max_re=max_re)
    out = np.zeros((2, signals.shape[1] + filters.shape[-1] - 1))
    for channel in range(n_channels):
        signal = np.asarray(signals[channel], dtype=float)
        if not np.any(signal):
            continue
        for ear in range(2):
            out[ear] += oaconvolve(signal, filters[ear, channel])
    return out
