"""Metric scale for relative depth from the typical sizes of recognised things.

A relative depth model knows the scene's shape but not its scale. A region labelled with a
thing of known typical height (a person, a car, a door) fixes it: a thing of height ``H``
metres spanning ``h`` pixels at focal length ``f_y`` pixels stands at ``z = f_y H / h`` (for an
upright thing seen roughly level). The depth map is scaled so that the labelled regions' median
depths match those distances (the median of the ratios, so one odd detection does not decide).

Typical heights are rough (people vary by ±10 %, cars by ±15 %); the result is a better guess
than a fixed median scene depth, not a measurement.
"""

from __future__ import annotations

import numpy as np

from soundstage.vision.stages import DepthMap, Region

#: Typical heights in metres of things a detector may label (lower-case; plural 's' is tried too).
TYPICAL_HEIGHTS_M = {
    "person": 1.7,
    "man": 1.75,
    "woman": 1.65,
    "child": 1.2,
    "car": 1.5,
    "truck": 2.5,
    "bus": 3.0,
    "bicycle": 1.0,
    "motorcycle": 1.1,
    "dog": 0.6,
    "cat": 0.3,
    "horse": 1.6,
    "door": 2.05,
    "chair": 0.9,
    "table": 0.75,
    "guitar": 1.0,
    "piano": 1.2,
    "drum": 0.6,
    "television": 0.6,
    "tree": 6.0,
}


def typical_height_m(label: str | None) -> float | None:
    """The typical height of a labelled thing in metres, or None when it is not in :data:`TYPICAL_HEIGHTS_M`.

    >>> typical_height_m("Person"), typical_height_m("cars"), typical_height_m("cloud")
    (1.7, 1.5, None)
    """
    if not label:
        return None
    key = label.strip().lower()
    return TYPICAL_HEIGHTS_M.get(key, TYPICAL_HEIGHTS_M.get(key[:-1]) if key.endswith("s") else None)


def scale_by_size_priors(depth: DepthMap, regions: list[Region], fy: float) -> tuple[DepthMap, list[str]]:
    """Rescale a relative depth map so labelled regions of known size sit at their size's distance.

    Parameters
    ----------
    depth : DepthMap
        A relative estimate (``metric`` False); metric maps are returned unchanged.
    regions : list of Region
        Regions; those whose label has a typical height and whose mask has depth take part.
    fy : float
        Vertical focal length of the camera in pixels of the analysed image.

    Returns
    -------
    depth : DepthMap
        Rescaled (notes extended), or ``depth`` itself when no region could take part.
    lines : list of str
        What was used, for ``--explain``.

    Examples
    --------
    >>> z = np.full((100, 100), 2.0)
    >>> mask = np.zeros((100, 100), bool); mask[20:70, 40:50] = True       # 50 px tall
    >>> person = Region(mask, (40, 20, 50, 70), "person", 1.0, "user")
    >>> scaled, _ = scale_by_size_priors(DepthMap(z, False, "transformers"), [person], fy=100.0)
    >>> float(np.nanmedian(scaled.z_m[mask]))                                 # 100 × 1.7 / 50
    3.4
    """
    if depth.metric:
        return depth, []
    ratios, lines = [], []
    for region in regions:
        height = typical_height_m(region.label)
        rows = np.flatnonzero(region.mask.any(axis=1))
        values = depth.z_m[region.mask]
        values = values[np.isfinite(values)]
        if height is None or len(rows) < 2 or not len(values):
            continue
        pixels = float(rows[-1] - rows[0] + 1)
        distance = fy * height / pixels
        ratios.append(distance / float(np.median(values)))
        lines.append(f"{region.label}: {pixels:.0f} px tall, typically {height:g} m → {distance:.2f} m away")
    if not ratios:
        return depth, []
    scale = float(np.median(ratios))
    note = f"relative depth rescaled ×{scale:.2f} by the typical sizes of {len(ratios)} labelled region(s)"
    return DepthMap(depth.z_m * scale, False, depth.backend, (*depth.notes, note)), [note, *lines]
