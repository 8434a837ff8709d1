"""The offline sounding-region finder: classical saliency on superpixels, no weights.

Sound sources in a picture are usually *things that stand out* from their surroundings (a car on a
road, a guitar against a wall), not the largest areas (sky, floor, walls), which is what ranking
segmentation masks by size picks. The rule, step by step:

1. **Analysis size.** The image is block-averaged by an integer factor so that its longer side is at
   most ``analysis_size`` pixels (320 by default); masks are scaled back to the image at the end.
2. **Superpixels.** SLIC (Achanta et al. 2012) over-segments the CIE-Lab image into about
   ``n_superpixels`` compact patches that follow colour edges.
3. **Saliency** of each superpixel, after Zhu, Liang, Wei & Sun, "Saliency optimization from robust
   background detection" (CVPR 2014): a patch is background when the area it reaches along
   colour-similar paths (geodesic distance on the superpixel graph) touches the image border a lot
   (*boundary connectivity*); a patch is foreground when its colour differs from nearby background
   patches (*background-weighted contrast*). The two cues and a smoothness term between similar
   neighbours are combined by solving one small least-squares problem, giving a saliency in [0, 1].
4. **Candidates.** Superpixels whose saliency is above Otsu's threshold (and at least
   ``min_saliency``) form the salient parts; each connected group of them is one candidate. The rest
   of the image is cut into colour segments (neighbouring superpixels closer than
   ``merge_delta_e`` in Lab joined), which become candidates too, so that when there are fewer
   salient objects than sounds the next-best distinct patches are offered.
5. **Background rules.** A candidate is dropped as background (sky, floor, ground, ceiling, a wall)
   when it covers more than 35 % of the image, or covers at least 30 % of the length of two or more
   image borders, or at least 50 % of the top or bottom border, or touches the top border with a
   sky-like colour (unsaturated or blue) and lies in the upper half. Specks under 0.1 % of the image
   are dropped.
6. **Score** = mean saliency × a size factor that is ``sqrt(area / 1 %)`` below 1 % of the image
   (small specks rank low) and tapers linearly from 1 at 15 % to 0.5 at 35 % (large areas are rarely
   single sources). Regions come best first.

Limits: it does not know what anything is, so with ``labels`` it still returns unlabelled regions, in
rank order, and the pipeline gives the labels to them in that order (say which is which with
``--region LABEL=x0,y0,x1,y1`` when the order is wrong). Salient objects that touch each other with no
background between them come out as one region; an object filling more than a third of the frame, or
spanning two borders, is taken for background; objects coloured like their surroundings
(camouflage, a grey car on a grey road) score low. Masks follow superpixel edges at the analysis
size, so they are accurate to a few analysis pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from soundstage.errors import ParameterError
from soundstage.vision.stages import LoadedImage, Region, RegionBackend

#: Regions covering more than this share of the image are background.
MAX_AREA_FRACTION = 0.35
#: Regions covering less than this share of the image are specks and are dropped.
MIN_AREA_FRACTION = 0.001
#: A border is "covered over a long stretch" when the region holds this share of its length.
LONG_BORDER_FRACTION = 0.30
#: A region holding this share of the top or bottom border is sky/ceiling or floor/ground.
WIDE_BORDER_FRACTION = 0.50
#: Lab chroma below which a colour counts as unsaturated (grey, white, overcast sky).
LOW_CHROMA = 12.0

# Zhu et al. 2014's constants: colour scale of geodesic/smoothness weights (Lab units), spread of the
# boundary-connectivity → background-probability map, spatial reach of the contrast (image-size units),
# and the smoothness floor that also ties dissimilar neighbours a little.
_SIGMA_COLOUR = 10.0
_SIGMA_BOUNDARY = 1.0
_SIGMA_SPATIAL = 0.25
_MU_SMOOTH = 0.1


@dataclass(frozen=True)
class SaliencyAnalysis:
    """Superpixels of an image with their saliency and their grouping into candidate regions.

    Attributes
    ----------
    superpixels : np.ndarray, shape (h, w), int
        Superpixel index per analysis pixel, ``0 .. n - 1``.
    factor : int
        Block size of the analysis: image pixel ``(u, v)`` is analysis pixel ``(u // factor, v // factor)``.
    image_shape : tuple of int
        ``(height, width)`` of the analysed image.
    saliency : np.ndarray, shape (n,), float
        Saliency of each superpixel in [0, 1].
    salient : np.ndarray, shape (n,), bool
        Whether each superpixel is above the saliency threshold.
    groups : np.ndarray, shape (n,), int
        Candidate region of each superpixel: connected salient components, and colour segments of
        the rest.
    parts : np.ndarray, shape (n,), int
        A finer partition: colour segments everywhere (each part lies inside one group). A salient
        component that is judged background is replaced by its parts, so an object glued to a strip
        of sky is still found.
    lab : np.ndarray, shape (h, w, 3)
        The analysis image in CIE-Lab.
    edges : np.ndarray, shape (m, 2), int
        Pairs of adjacent superpixels.
    """

    superpixels: np.ndarray
    factor: int
    image_shape: tuple[int, int]
    saliency: np.ndarray
    salient: np.ndarray
    groups: np.ndarray
    parts: np.ndarray
    lab: np.ndarray
    edges: np.ndarray

    def to_image(self, values: np.ndarray) -> np.ndarray:
        """Per-superpixel ``values`` (shape (n,)) painted on the image grid, shape ``image_shape``."""
        small = values[self.superpixels]
        full = np.repeat(np.repeat(small, self.factor, axis=0), self.factor, axis=1)
        height, width = self.image_shape
        return full[:height, :width]

    def saliency_map(self) -> np.ndarray:
        """Saliency per image pixel, shape ``image_shape``, float32 in [0, 1]."""
        return self.to_image(self.saliency.astype(np.float32))

    def superpixel_at(self, u: float, v: float) -> int:
        """The superpixel containing image point ``(u, v)`` (pixels, u right, v down)."""
        height, width = self.image_shape
        col = min(max(int(u), 0), width - 1) // self.factor
        row = min(max(int(v), 0), height - 1) // self.factor
        return int(self.superpixels[row, col])


def analyse_image(
    rgb: np.ndarray,
    *,
    analysis_size: int = 320,
    n_superpixels: int = 300,
    min_saliency: float = 0.3,
    merge_delta_e: float = 12.0,
) -> SaliencyAnalysis:
    """Superpixels, saliency and candidate groups of an image.

    Parameters
    ----------
    rgb : np.ndarray, shape (H, W, 3)
        Colour in [0, 1].
    analysis_size : int
        Longest side, in pixels, the image is block-averaged down to before analysis.
    n_superpixels : int
        About how many SLIC superpixels to cut the analysis image into.
    min_saliency : float
        Lowest saliency that counts as salient, whatever Otsu's threshold says (so that an image with
        nothing standing out yields no salient parts).
    merge_delta_e : float
        Lab distance below which neighbouring superpixels join one colour segment.

    Returns
    -------
    SaliencyAnalysis
    """
    from skimage.color import rgb2lab
    from skimage.filters import threshold_otsu
    from skimage.segmentation import slic

    height, width = rgb.shape[:2]
    factor = max(1, math.ceil(max(height, width) / analysis_size))
    small = np.clip(_block_mean(np.asarray(rgb, dtype=np.float32), factor), 0.0, 1.0).astype(np.float64)
    lab = rgb2lab(small)
    # SLIC is given RGB and converts to Lab itself: its compactness is tuned for that scaling.
    labels = slic(small, n_segments=n_superpixels, compactness=10.0, channel_axis=-1, start_label=0)
    _, superpixels = np.unique(labels, return_inverse=True)
    superpixels = superpixels.reshape(labels.shape)
    graph = _SuperpixelGraph.build(superpixels, lab)
    saliency = _saliency(graph)

    # Otsu's threshold over pixels (area-weighted), never below min_saliency.
    threshold = min_saliency
    if np.ptp(saliency) > 1e-6:
        threshold = max(threshold, float(threshold_otsu(saliency[superpixels])))
    salient = saliency >= threshold

    a, b = graph.edges.T
    same_side = salient[a] == salient[b]
    similar = graph.edge_delta_e < merge_delta_e
    groups = _components(graph.n, graph.edges[same_side & (salient[a] | similar)])
    parts = _components(graph.n, graph.edges[same_side & similar])
    return SaliencyAnalysis(superpixels, factor, (height, width), saliency, salient, groups, parts, lab, graph.edges)


class ClassicalRegions(RegionBackend):
    """Offline sounding regions from saliency on superpixels (see the module docstring for the rule).

    Parameters
    ----------
    analysis_size, n_superpixels, min_saliency, merge_delta_e
        Passed to :func:`analyse_image`.

    Examples
    --------
    >>> import numpy as np
    >>> from soundstage.vision.stages import LoadedImage
    >>> rgb = np.full((120, 160, 3), 0.8, dtype=np.float32)
    >>> rgb[40:80, 60:100] = (0.9, 0.1, 0.1)            # a red square on a light grey wall
    >>> image = LoadedImage(rgb=rgb, path="square.png", original_size=(160, 120))
    >>> [region] = ClassicalRegions().find(image, labels=None, max_regions=3)
    >>> region.box
    (60.0, 40.0, 100.0, 80.0)
    """

    name = "classical"
    needs_weights = False

    def __init__(
        self,
        *,
        analysis_size: int = 320,
        n_superpixels: int = 300,
        min_saliency: float = 0.3,
        merge_delta_e: float = 12.0,
    ) -> None:
        if analysis_size < 16:
            raise ParameterError(f"classical regions: analysis_size must be at least 16 pixels, got {analysis_size}")
        if n_superpixels < 4:
            raise ParameterError(f"classical regions: n_superpixels must be at least 4, got {n_superpixels}")
        self.analysis_size = int(analysis_size)
        self.n_superpixels = int(n_superpixels)
        self.min_saliency = float(min_saliency)
        self.merge_delta_e = float(merge_delta_e)

    def analyse(self, image: LoadedImage) -> SaliencyAnalysis:
        """:func:`analyse_image` of ``image.rgb`` with this backend's settings."""
        check_image_size(image)
        return analyse_image(
            image.rgb,
            analysis_size=self.analysis_size,
            n_superpixels=self.n_superpixels,
            min_saliency=self.min_saliency,
            merge_delta_e=self.merge_delta_e,
        )

    def find(self, image: LoadedImage, *, labels: list[str] | None, max_regions: int) -> list[Region]:
        """Up to ``max_regions`` salient regions, best first, unlabelled.

        ``labels`` cannot be recognised by this backend; the regions come back unlabelled in rank
        order and the pipeline gives them the labels in that order.
        """
        if max_regions < 1:
            raise ParameterError(f"classical regions: max_regions must be at least 1, got {max_regions}")
        analysis = self.analyse(image)
        regions = []
        for members, score in rank_candidates(analysis)[:max_regions]:
            mask = analysis.to_image(members)
            regions.append(Region(mask=mask, box=mask_box(mask), label=None, score=score, backend=self.name))
        return regions


def rank_candidates(analysis: SaliencyAnalysis) -> list[tuple[np.ndarray, float]]:
    """The candidate regions that are not background, best first.

    Candidates are the analysis's groups, except that a salient group judged background is replaced
    by its colour parts; parts under 1 % of the image that touch a larger part of the same group join
    the largest such part (they are its edge, mixed with the surroundings), the others stand alone.

    Parameters
    ----------
    analysis : SaliencyAnalysis
        The image's analysis.

    Returns
    -------
    list of (np.ndarray, float)
        Superpixel membership (shape (n,), bool) and score in [0, 1], by decreasing score.
    """
    _, group_background = _judge(analysis, analysis.groups)
    split = group_background[analysis.groups] & analysis.salient
    # Candidate labels: groups, with split groups' superpixels relabelled by part (offset past the groups).
    n_groups = int(analysis.groups.max()) + 1
    labelling = np.where(split, analysis.parts + n_groups, analysis.groups)
    counts = np.bincount(analysis.superpixels.ravel(), minlength=len(labelling))
    area = np.bincount(labelling, weights=counts)
    minor = area < 0.01 * analysis.superpixels.size
    a, b = analysis.edges.T
    same_group = (analysis.groups[a] == analysis.groups[b]) & split[a] & (labelling[a] != labelling[b])
    target = np.arange(len(area))
    for x, y in zip(labelling[a][same_group], labelling[b][same_group], strict=True):
        for small, large in ((x, y), (y, x)):
            if minor[small] and not minor[large] and (target[small] == small or area[large] > area[target[small]]):
                target[small] = large
    labelling = target[labelling]

    score, background = _judge(analysis, labelling)
    return [
        (labelling == label, float(score[label]))
        for label in np.argsort(-score, kind="stable")
        if not background[label] and np.any(labelling == label)
    ]


def segment_at(analysis: SaliencyAnalysis, u: float, v: float) -> np.ndarray:
    """Boolean mask (shape ``image_shape``) of the segment containing image point ``(u, v)``.

    The segment is the candidate group there (a salient component or a colour segment); when that
    group is judged background and is salient, its colour part there instead (a point on an object glued
    to a strip of sky picks the object, not the strip).
    """
    superpixel = analysis.superpixel_at(u, v)
    group = analysis.groups[superpixel]
    _, background = _judge(analysis, analysis.groups)
    if background[group] and analysis.salient[superpixel]:
        return analysis.to_image(analysis.parts == analysis.parts[superpixel])
    return analysis.to_image(analysis.groups == group)


def _judge(analysis: SaliencyAnalysis, labelling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score (shape (k,)) and background flag (shape (k,), bool) of each region of a labelling."""
    superpixels = analysis.superpixels
    height, width = superpixels.shape
    k = int(labelling.max()) + 1
    region_of_pixel = labelling[superpixels].ravel()

    def mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(region_of_pixel, weights=values, minlength=k) / np.maximum(area, 1)

    area = np.bincount(region_of_pixel, minlength=k).astype(float)
    fraction = area / superpixels.size
    saliency = mean(analysis.saliency[superpixels].ravel())
    lab = analysis.lab.reshape(-1, 3)
    mean_a, mean_b = mean(lab[:, 1]), mean(lab[:, 2])
    centre_v = mean(np.repeat((np.arange(height) + 0.5) / height, width))
    borders = [superpixels[0], superpixels[-1], superpixels[:, 0], superpixels[:, -1]]
    # (k, 4): share of the top, bottom, left and right borders held by each region.
    cover = np.stack([np.bincount(labelling[side], minlength=k) / len(side) for side in borders], axis=1)

    chroma = np.hypot(mean_a, mean_b)
    sky_coloured = (chroma < LOW_CHROMA) | ((mean_b < 0) & (-mean_b > np.abs(mean_a)))
    background = (
        (fraction > MAX_AREA_FRACTION)
        | (fraction < MIN_AREA_FRACTION)
        | (np.sum(cover >= LONG_BORDER_FRACTION, axis=1) >= 2)
        | (cover[:, 0] >= WIDE_BORDER_FRACTION)
        | (cover[:, 1] >= WIDE_BORDER_FRACTION)
        | ((cover[:, 2] > 0) & (cover[:, 3] > 0))
        | ((cover[:, 0] > 0) & (cover[:, 1] > 0))
        | ((cover[:, 0] > 0) & sky_coloured & (centre_v < 0.5))
    )
    return saliency * size_factor(fraction), background


def size_factor(area_fraction: np.ndarray | float) -> np.ndarray:
    """Weight in [0.5, 1] (0 for an empty area) favouring mid-sized regions.

    ``sqrt(area_fraction / 0.01)`` below 1 % of the image; 1 from 1 % to 15 %; then linear down to 0.5
    at 35 %, held there above.

    >>> size_factor(np.array([0.0025, 0.05, 0.25, 0.5])).round(3).tolist()
    [0.5, 1.0, 0.75, 0.5]
    """
    area = np.asarray(area_fraction, dtype=float)
    small = np.sqrt(np.clip(area / 0.01, 0.0, 1.0))
    large = 1.0 - 0.5 * np.clip((area - 0.15) / (MAX_AREA_FRACTION - 0.15), 0.0, 1.0)
    return small * large


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """``(u0, v0, u1, v1)`` pixel-edge bounding box of a non-empty boolean mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)


def check_image_size(image: LoadedImage, minimum: int = 8) -> None:
    """Raise :class:`ParameterError` when ``image`` is too small to analyse."""
    if image.rgb.ndim != 3 or image.rgb.shape[2] != 3:
        raise ParameterError(f"{image.path}: expected an RGB image of shape (H, W, 3), got {image.rgb.shape}")
    if min(image.height, image.width) < minimum:
        raise ParameterError(
            f"{image.path}: {image.width}×{image.height} px is too small to find regions in "
            f"(at least {minimum}×{minimum} px needed)"
        )


def _components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes joined by ``edges`` (shape (m, 2))."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    adjacency = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    return connected_components(adjacency, directed=False)[1]


def _block_mean(rgb: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor``×``factor`` blocks, the last partial blocks padded by edge values."""
    if factor == 1:
        return rgb
    height, width = rgb.shape[:2]
    pad_v = -height % factor
    pad_u = -width % factor
    padded = np.pad(rgb, ((0, pad_v), (0, pad_u), (0, 0)), mode="edge")
    h, w = padded.shape[0] // factor, padded.shape[1] // factor
    return padded.reshape(h, factor, w, factor, 3).mean(axis=(1, 3))


@dataclass(frozen=True)
class _SuperpixelGraph:
    """Per-superpixel statistics and the adjacency between superpixels."""

    n: int
    count: np.ndarray  # (n,) pixels
    lab: np.ndarray  # (n, 3) mean Lab
    centre: np.ndarray  # (n, 2) mean (v, u) scaled by the longer side
    on_border: np.ndarray  # (n,) bool, touches the image border
    edges: np.ndarray  # (m, 2) adjacent pairs (a < b)
    edge_delta_e: np.ndarray  # (m,) Lab distance between the pair's means

    @classmethod
    def build(cls, superpixels: np.ndarray, lab: np.ndarray) -> _SuperpixelGraph:
        height, width = superpixels.shape
        n = int(superpixels.max()) + 1
        flat = superpixels.ravel()
        count = np.bincount(flat, minlength=n).astype(float)
        mean_lab = (
            np.stack([np.bincount(flat, weights=lab[..., c].ravel(), minlength=n) for c in range(3)], axis=1)
            / count[:, None]
        )
        rows, cols = np.indices((height, width))
        scale = max(height, width)
        centre = (
            np.stack(
                [
                    np.bincount(flat, weights=(rows.ravel() + 0.5) / scale, minlength=n),
                    np.bincount(flat, weights=(cols.ravel() + 0.5) / scale, minlength=n),
                ],
                axis=1,
            )
            / count[:, None]
        )
        on_border = np.zeros(n, dtype=bool)
        for side in (superpixels[0], superpixels[-1], superpixels[:, 0], superpixels[:, -1]):
            on_border[side] = True
        pairs = np.concatenate(
            [
                np.stack([superpixels[:, :-1].ravel(), superpixels[:, 1:].ravel()], axis=1),
                np.stack([superpixels[:-1].ravel(), superpixels[1:].ravel()], axis=1),
            ]
        )
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        pairs = np.unique(np.sort(pairs, axis=1), axis=0)
        delta_e = np.linalg.norm(mean_lab[pairs[:, 0]] - mean_lab[pairs[:, 1]], axis=1)
        return cls(n, count, mean_lab, centre, on_border, pairs, delta_e)


def _saliency(graph: _SuperpixelGraph) -> np.ndarray:
    """Zhu et al. 2014's optimised saliency of each superpixel, shape (n,), in [0, 1]."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    n = graph.n
    if n == 1:
        return np.zeros(1)
    # Geodesic colour distance: shortest paths over adjacent superpixels, plus links between all
    # border superpixels so that background split by an object still counts as one. A tiny floor keeps
    # zero-cost edges (identical colours) in the sparse graph.
    border = np.flatnonzero(graph.on_border)
    bi, bj = np.triu_indices(len(border), k=1)
    a = np.concatenate([graph.edges[:, 0], border[bi]])
    b = np.concatenate([graph.edges[:, 1], border[bj]])
    weight = np.linalg.norm(graph.lab[a] - graph.lab[b], axis=1) + 1e-6
    geodesic = dijkstra(coo_matrix((weight, (a, b)), shape=(n, n)).tocsr(), directed=False)
    reach = np.exp(-(geodesic**2) / (2 * _SIGMA_COLOUR**2))

    # Boundary connectivity: how much of the colour-connected area around each patch lies on the border.
    span_area = reach.sum(axis=1)
    border_length = reach[:, graph.on_border].sum(axis=1)
    connectivity = border_length / np.sqrt(span_area)
    background = 1.0 - np.exp(-(connectivity**2) / (2 * _SIGMA_BOUNDARY**2))

    # Contrast against nearby likely-background patches, weighted by their area.
    colour = np.linalg.norm(graph.lab[:, None, :] - graph.lab[None, :, :], axis=2)
    spatial = np.linalg.norm(graph.centre[:, None, :] - graph.centre[None, :, :], axis=2)
    weights = np.exp(-(spatial**2) / (2 * _SIGMA_SPATIAL**2)) * (background * graph.count)[None, :]
    contrast = (colour * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-12)
    foreground = contrast / max(float(contrast.max()), 1e-12)

    # Minimise Σ bg·s² + Σ fg·(1 − s)² + Σ_adjacent w·(s_i − s_j)²: a symmetric linear system.
    smooth = np.exp(-(graph.edge_delta_e**2) / (2 * _SIGMA_COLOUR**2)) + _MU_SMOOTH
    i, j = graph.edges.T
    laplacian = np.zeros((n, n))
    np.add.at(laplacian, (i, j), -smooth)
    np.add.at(laplacian, (j, i), -smooth)
    laplacian[np.diag_indices(n)] = -laplacian.sum(axis=1)
    system = laplacian + np.diag(background + foreground)
    saliency = np.linalg.solve(system + 1e-9 * np.eye(n), foreground)
    return np.clip(saliency, 0.0, 1.0)
