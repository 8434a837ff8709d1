"""The one check of a sample rate that encoders and measuring tools apply to their arguments."""

from __future__ import annotations

import numpy as np

from soundstage.errors import ParameterError


def check_sample_rate(sample_rate: int) -> int:
    """``sample_rate`` as an int, or a ParameterError if it is not a positive integer number of Hz.

    Examples
    --------
    >>> check_sample_rate(np.int64(48000))
    48000
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive integer in Hz (e.g. 48000), got {sample_rate!r}")
    return int(sample_rate)
