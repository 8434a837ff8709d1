"""When a moving source emitted what the listener hears now: the retarded-time equation both engines solve.

Sound heard at time ``t`` left its source at ``t_e`` with ``t − t_e = |x(t_e) − l(t)| / c`` (``x`` the source or
its image, ``l`` the listener). Iterating ``t_e ← t − |x(t_e) − l(t)| / c`` contracts by ``v / c`` per step (a car
at 30 m/s: 0.09), so from a delay known a moment ago two or three steps reach :data:`TOLERANCE_S`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Iterate until the emission time moves less than this, s.
TOLERANCE_S = 1e-10
#: At most this many steps (a source faster than sound would never settle).
MAX_ITERATIONS = 100


def solve_emission(
    times: np.ndarray,
    guess_delay: np.ndarray,
    offset_at: Callable[[np.ndarray], np.ndarray],
    speed_of_sound: float,
) -> np.ndarray:
    """The offset from the listener to the emitter at the moment it emitted what is heard at ``times``.

    Parameters
    ----------
    times : np.ndarray
        Reception times, s.
    guess_delay : np.ndarray
        A delay to start from, s (the one solved a moment before); broadcast with ``times`` to the shape ``S`` of
        the solve (the block engine: times (1, G), delays (K, 1) → (K, G)).
    offset_at : callable
        ``offset_at(emitted)``: from the listener (at each reception time) to the emitter at emission times
        ``emitted`` (shape ``S``), shape ``(*S, 3)``, metres.
    speed_of_sound : float
        In m/s.

    Returns
    -------
    np.ndarray, shape ``(*S, 3)``
        The offset at the solved emission time; its length over ``speed_of_sound`` is the delay.

    Examples
    --------
    A source passing at 34.3 m/s (0.1 c) along y, 10 m ahead; at t = 0 it is at y = 0:

    >>> offset = solve_emission(
    ...     np.array([1.0]), np.array([0.0]), lambda e: np.stack([np.full_like(e, 10.0), 34.3 * e], -1), 343.0
    ... )
    >>> delay = float(np.linalg.norm(offset) / 343.0)
    >>> round(delay, 9) == round(float(np.hypot(10.0, 34.3 * (1.0 - delay)) / 343.0), 9)
    True
    """
    emitted = times - guess_delay
    for _ in range(MAX_ITERATIONS):
        offset = offset_at(emitted)
        previous, emitted = emitted, times - np.sqrt(np.einsum("...d,...d->...", offset, offset)) / speed_of_sound
        if np.max(np.abs(emitted - previous), initial=0.0) < TOLERANCE_S:
            break
    return offset
