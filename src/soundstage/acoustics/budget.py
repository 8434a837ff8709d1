"""What a render will cost in memory, estimated before the work and held to a budget.

A scene file can ask for more than a machine has — ``max_order: 50`` without a tail, a source
starting a year from now, a source 100 km away — and numpy would only say so after minutes of
swapping, with a traceback. The renderer asks this module first, with numbers it knows before
the heavy work (the sound files' lengths from their headers, the arrivals' count and spread,
the kernels' lengths), and refuses with one line naming the field to change.

The budget is ``memory_limit`` (Python), ``--memory-limit`` (CLI) or ``SOUNDSTAGE_MEMORY_LIMIT``
(e.g. ``4G``, ``512M``), by default half the machine's memory and at most 8 GiB.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from soundstage.errors import ParameterError

#: Environment variable holding the memory budget (``8G``, ``512M``, or bytes).
MEMORY_LIMIT_VARIABLE = "SOUNDSTAGE_MEMORY_LIMIT"
#: Largest default budget, in bytes.
MAX_DEFAULT_LIMIT_BYTES = 8 * 2**30
#: Peak bytes per (arrival × channel × kernel tap) while an encoder builds a source's response:
#: float64 kernels, their complex spectra and the weighted copies exist at once (``tests/test_budget.py``
#: measures a render's peak in a fresh process and checks the estimate stays above it).
ENCODER_BYTES_PER_TAP = 48
#: Peak bytes per (channel × output sample) of the mix: the float32 mix and its block spectra (complex64, about
#: 1.15 times the mix's bytes, at most twice when blocks are as short as they may be); the inverse transforms
#: add a fixed chunk (:func:`soundstage.acoustics.convolution.inverse_chunk_bytes`). The moving render counts
#: twice this for its mix and the block engine's output.
MIX_BYTES_PER_SAMPLE = 12
#: Peak bytes per signal sample of one source on its way into the mix: its float32 blocks, their complex64
#: spectra and one channel's product with a response spectrum (each of the two up to twice the samples' bytes).
SOURCE_BYTES_PER_SAMPLE = 20
#: Bytes per (channel × response tap) of a response kept until the mix's block grid is set (float32).
KEPT_RESPONSE_BYTES_PER_TAP = 4
#: Peak bytes per (channel × response tap): float64 response, tail noise and its band filtering.
RESPONSE_BYTES_PER_TAP = 40

_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_memory_size(text: str | int | float, *, name: str = "memory limit") -> int:
    """Bytes from ``8G``, ``512M``, ``1.5G``, ``2048K`` or a plain number of bytes.

    Parameters
    ----------
    text : str, int or float
        The size; units K, M, G, T are powers of 1024 (``GiB`` and ``GB`` are read alike).
    name : str
        What to call it in the error message.

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        For anything that is not a positive size.

    Examples
    --------
    >>> parse_memory_size("4G"), parse_memory_size("512M"), parse_memory_size(1000)
    (4294967296, 536870912, 1000)
    """
    if isinstance(text, bool):
        raise ParameterError(f"{name}: {text!r} is not a size; give e.g. 4G or 512M")
    if isinstance(text, int | float):
        value, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGTkmgt]?)(?:i?[Bb])?\s*", str(text))
        if match is None:
            raise ParameterError(f"{name}: {text!r} is not a size; give e.g. 4G or 512M")
        value, unit = float(match.group(1)), match.group(2).upper()
    size = value * _UNITS[unit]
    if not (size >= 1 and size < 2**63):
        raise ParameterError(f"{name}: {text!r} is not a positive size; give e.g. 4G or 512M")
    return int(size)


def memory_limit_bytes(limit: str | int | float | None = None) -> int:
    """The memory budget: ``limit``, else ``$SOUNDSTAGE_MEMORY_LIMIT``, else the default.

    The default is half the physical memory, at most :data:`MAX_DEFAULT_LIMIT_BYTES`, so a
    render never pushes the rest of the machine into swap.
    """
    if limit is not None:
        return parse_memory_size(limit, name="memory_limit")
    from_environment = os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip()
    if from_environment:
        return parse_memory_size(from_environment, name=MEMORY_LIMIT_VARIABLE)
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = 2 * MAX_DEFAULT_LIMIT_BYTES
    return int(min(MAX_DEFAULT_LIMIT_BYTES, physical // 2))


@dataclass(frozen=True)
class Cost:
    """An estimate of the peak memory of one piece of work and the field that sets it.

    Attributes
    ----------
    bytes : float
        Estimated peak bytes.
    field : str
        The scene field (or option) that sets it, as the user would write it.
    what : str
        What makes it large, in words, for the message.
    fix : str
        What to change.
    """

    bytes: float
    field: str
    what: str
    fix: str


def check_cost(cost: Cost, limit_bytes: int) -> None:
    """Refuse ``cost`` when it exceeds the budget, with one line naming the field and the fix.

    Raises
    ------
    ParameterError

    Examples
    --------
    >>> try:
    ...     check_cost(Cost(1e12, "sources[0].start", "a start at 1e+08 s", "start it earlier"), 2**30)
    ... except ParameterError as error:
    ...     print(str(error)[:72])
    sources[0].start: a start at 1e+08 s would need about 931 GiB of memory,
    """
    if cost.bytes <= limit_bytes:
        return
    raise ParameterError(
        f"{cost.field}: {cost.what} would need about {format_bytes(cost.bytes)} of memory, more than the budget of "
        f"{format_bytes(limit_bytes)}; {cost.fix} (or raise --memory-limit / {MEMORY_LIMIT_VARIABLE})"
    )


def format_bytes(n_bytes: float) -> str:
    """``1.5 GiB``, ``300 MiB``... (three significant digits).

    Examples
    --------
    >>> format_bytes(3 * 2**30), format_bytes(5e6)
    ('3 GiB', '4.77 MiB')
    """
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            value = n_bytes / size
            return f"{value:.3g} {unit}"
    return f"{n_bytes:.0f} B"


def mix_cost(n_channels: int, n_samples: float) -> float:
    """Peak bytes of a mix of ``n_samples`` per channel (see :data:`MIX_BYTES_PER_SAMPLE`)."""
    return float(n_channels) * float(n_samples) * MIX_BYTES_PER_SAMPLE


def kept_responses_cost(n_channels: int, response_taps: list[int]) -> float:
    """Bytes of every response, kept until the longest sets the mix's block grid."""
    return float(KEPT_RESPONSE_BYTES_PER_TAP) * n_channels * sum(response_taps)


def source_mix_cost(n_samples: float, n_channels: int, n_fft: int) -> float:
    """Peak bytes of one source of ``n_samples`` going into a mix whose transforms are ``n_fft`` long: its blocks
    and their spectra (:data:`SOURCE_BYTES_PER_SAMPLE`, over whole blocks) and its responses' spectra."""
    return (float(n_samples) + 2.0 * n_fft) * SOURCE_BYTES_PER_SAMPLE + 4.0 * n_channels * (n_fft + 2)


def response_cost(n_channels: int, n_taps: float) -> float:
    """Peak bytes of building one source's response of ``n_taps`` (see :data:`RESPONSE_BYTES_PER_TAP`)."""
    return float(n_channels) * float(n_taps) * RESPONSE_BYTES_PER_TAP


def encoder_cost(n_arrivals: int, n_channels: int, kernel_taps: int) -> float:
    """Peak bytes of encoding ``n_arrivals`` with kernels of ``kernel_taps`` (see :data:`ENCODER_BYTES_PER_TAP`)."""
    return float(n_arrivals) * float(n_channels) * float(kernel_taps) * ENCODER_BYTES_PER_TAP
