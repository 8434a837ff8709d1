"""The offline sounding-region finder: classical saliency on superpixels, no weights.

Sound sources in a picture are usually *things that stand out* from their surroundings (a dog in a
room, a car on a road, a guitar against a wall), not the largest areas (sky, floor, walls), and not
the sharpest small contrasts either (the dark gap between two cabinets, a shadow under a sofa). The
rule, step by step:

1. **Analysis size.** The image is block-averaged by an integer factor so that its longer side is at
   most ``analysis_size`` pixels (320 by default); masks are scaled back to the image at the end.
2. **Superpixels.** SLIC (Achanta et al. 2012) over-segments the CIE-Lab image into about
   ``n_superpixels`` compact patches that follow colour edges.
3. **Saliency** of each superpixel, after Zhu, Liang, Wei & Sun, "Saliency optimization from robust
   background detection" (CVPR 2014): a patch is background when the area it reaches along
   colour-similar paths (geodesic distance on the superpixel graph) touches the image border a lot
   (*boundary connectivity*); a patch is foreground when its colour differs from nearby background
   patches (*background-weighted contrast*). The two cues and a smoothness term between similar
   neighbours are combined by solving one sparse least-squares problem, giving a saliency in [0, 1].
4. **Candidates.** The superpixels are merged, most alike neighbours first, by colour and texture
   histograms, until one region is left (selective search, :mod:`.grouping`); every region formed on
   the way is a candidate, so a textured object (fur, a shelf of books) is one candidate however
   many patches it takes. A candidate is dropped as background (sky, floor, ground, ceiling, a
   wall) when it covers more than 35 % of the image, or at least 30 % of the length of two or more
   image borders, or at least 50 % of the top or bottom border, or touches both the left and right
   (or top and bottom) borders, or touches the top border with a sky-like colour (unsaturated or
   blue) and lies in the upper half; specks under 0.1 % are dropped. A candidate must stand out: a
   histogram distance of at least 0.15 from its surround and a mean saliency of at least
   ``min_saliency``.
5. **Cues** (:class:`ObjectCues`), each in [0, 1]: *contrast* with its surround; *closure*, the share
   of its outline that is a real edge (stronger than its own inner variation); *coherence*, how much
   more it differs from its surround than the most unlike parts it was merged from differ from each
   other (so that an object glued to a piece of furniture loses to the object alone); mean
   *saliency*; *figure*, the share of its outline inside the image (regions running along the image
   border are ground); a *centre* prior (photographers frame their subject); *thickness*, the
   radius of its largest inscribed disc against that of a disc of equal area (slivers and gaps are
   thin); and *shadow*, darker than its surround and unsaturated (gaps, cavities, shadows).
6. **Score** = size × contrast^½ × closure × coherence × saliency^½ × figure × centre ×
   min(1, thickness / 0.5) × (1 − 0.7 shadow), where the size prior grows with area up to 30 % of
   the image: the subject of a photograph is usually large in it. Candidates are taken best first,
   skipping any that share a superpixel with one already taken.
7. **Mirror symmetry.** The image and its mirror image are both analysed and their candidates pooled;
   a candidate with more than 20 % of its pixels in better ones is dropped, the rest lose those
   pixels. So the mirror image of a picture gives exactly the mirror images of its regions, and
   which side an object is on does not depend on how the superpixel grid fell.

Limits: it does not know what anything is, so with ``labels`` it still returns unlabelled regions, in
rank order, and the pipeline gives the labels to them in that order (say which is which with
``--region LABEL=x0,y0,x1,y1`` when the order is wrong). An object made of very unlike parts (a white
car with black tyres and dark windows) may come out as its largest part; an object filling more than a
third of the frame, or spanning two borders, is taken for background; objects coloured and textured
like their surroundings (camouflage, a grey dog before a grey cabinet) are missed; a dark, unsaturated
object before a light background scores lower than its size says. Masks follow superpixel edges at
the analysis size, so they are accurate to a few analysis pixels. :func:`analyse_image` also cuts the
image into salient components and colour segments (``groups`` and ``parts``), which
:func:`segment_at` uses for a user's point.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from soundstage.errors import ParameterError
from soundstage.vision.regions.grouping import Hierarchy, SuperpixelFeatures, histogram_distance, merge_hierarchy
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
#: Share of the image at which the size prior reaches 1 (it grows in proportion to area below).
FULL_SIZE_FRACTION = 0.30
#: Spread of the centre prior, in units of the image width and height.
CENTRE_SIGMA = 0.35
#: Histogram distance by which an edge must exceed a region's inner variation to count fully.
EDGE_CONTRAST = 0.2
#: Thickness (see :func:`thickness`) from which a region is not penalised as thin.
FULL_THICKNESS = 0.5
#: How much darker than its surround (L*) a region must be to count fully as a gap or shadow.
SHADOW_DARKNESS = 30.0
#: Chroma above which a region is coloured, not a gap or shadow.
SHADOW_CHROMA = 20.0
#: Share of the score a full gap or shadow loses.
SHADOW_WEIGHT = 0.7
#: Least histogram distance between a candidate object and its surround.
MIN_CONTRAST = 0.15
#: A candidate sharing more than this share of its pixels with better-ranked regions is dropped.
MAX_OVERLAP = 0.2

# Zhu et al. 2014's constants: colour scale of geodesic/smoothness weights (Lab units), spread of the
# boundary-connectivity → background-probability map, spatial reach of the contrast (image-size units),
# and the smoothness floor that also ties dissimilar neighbours a little.
_SIGMA_COLOUR = 10.0
_SIGMA_BOUNDARY = 1.0
_SIGMA_SPATIAL = 0.25
_MU_SMOOTH = 0.1


@dataclass(frozen=True)
class SaliencyAnalysis:
    """Superpixels of an image with their saliency and their segments (for a user's point).

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
        Segment of each superpixel: connected salient components, and colour segments of the rest
        (what :func:`segment_at` picks from).
    parts : np.ndarray, shape (n,), int
        A finer partition: colour segments everywhere (each part lies inside one group). A point on
        a salient component that is judged background picks its part, so a point on an object glued
        to a strip of sky picks the object.
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
        Passed to :func:`analyse_image`; ``min_saliency`` is also the least mean saliency of a region
        (see :func:`rank_candidates`).

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
        order and the pipeline gives them the labels in that order. The image and its mirror image
        are both analysed and their candidates pooled (step 7), so the mirror image of a picture
        gives the mirror images of its regions.
        """
        if max_regions < 1:
            raise ParameterError(f"classical regions: max_regions must be at least 1, got {max_regions}")
        check_image_size(image)
        pooled: list[tuple[float, np.ndarray]] = []
        for mirrored in (False, True):
            rgb = image.rgb[:, ::-1] if mirrored else image.rgb
            analysis = analyse_image(
                rgb,
                analysis_size=self.analysis_size,
                n_superpixels=self.n_superpixels,
                min_saliency=self.min_saliency,
                merge_delta_e=self.merge_delta_e,
            )
            for members, score in rank_candidates(analysis, limit=2 * max_regions, min_saliency=self.min_saliency):
                mask = analysis.to_image(members)
                pooled.append((score, mask[:, ::-1] if mirrored else mask))
        regions: list[Region] = []
        taken = np.zeros((image.height, image.width), dtype=bool)
        for score, mask in sorted(pooled, key=lambda candidate: -candidate[0]):
            area = np.count_nonzero(mask)
            mask = mask & ~taken
            if np.count_nonzero(mask) < (1.0 - MAX_OVERLAP) * area:
                continue
            taken |= mask
            regions.append(Region(mask=mask, box=mask_box(mask), label=None, score=score, backend=self.name))
            if len(regions) == max_regions:
                break
        return regions


def rank_candidates(
    analysis: SaliencyAnalysis, *, limit: int | None = None, min_saliency: float = 0.3
) -> list[tuple[np.ndarray, float]]:
    """Disjoint candidate objects of an analysed image, best first (steps 4 to 6 of the module's rule).

    Parameters
    ----------
    analysis : SaliencyAnalysis
        The image's analysis.
    limit : int or None
        Stop after this many candidates (None: all that are not background).
    min_saliency : float
        Lowest mean saliency of a candidate object.

    Returns
    -------
    list of (np.ndarray, float)
        Superpixel membership (shape (n,), bool) and score in [0, 1], by decreasing score; no two
        share a superpixel.
    """
    features = SuperpixelFeatures.of(analysis.superpixels, analysis.lab)
    hierarchy = merge_hierarchy(features, analysis.saliency)
    cues = ObjectCues.of(analysis, features, hierarchy)
    stands_out = (cues.saliency >= min_saliency) & (cues.contrast >= MIN_CONTRAST)
    bound = np.where(stands_out & ~cues.background, cues.score_without_shape(), 0.0)
    # Lazy greedy: the thickness factor is at most 1, so a score without it bounds the full score
    # and thickness is measured only for candidates that reach the top of the queue.
    queue = [(-float(s), int(i), False) for i, s in enumerate(bound) if s > 0.0]
    heapq.heapify(queue)
    taken = np.zeros(len(features.count), dtype=bool)
    ranked: list[tuple[np.ndarray, float]] = []
    while queue and (limit is None or len(ranked) < limit):
        negative, i, exact = heapq.heappop(queue)
        members = hierarchy.members[i]
        if np.any(taken & members):
            continue
        if not exact:
            shape = min(1.0, thickness(members[analysis.superpixels]) / FULL_THICKNESS)
            heapq.heappush(queue, (negative * shape, i, True))
            continue
        taken |= members
        ranked.append((members.copy(), -negative))
    return ranked


@dataclass(frozen=True)
class ObjectCues:
    """The cues of step 5 for each candidate region; all shape (k,), in [0, 1] unless said.

    Attributes
    ----------
    area : np.ndarray
        Share of the image covered.
    background : np.ndarray, bool
        Judged background by the rules of step 4.
    contrast : np.ndarray
        Histogram distance between the region and its surround (the regions across its boundary,
        weighted by the length of boundary shared with each).
    closure : np.ndarray
        Share of the boundary (inside the image) that is an edge: where the two sides differ by more
        than the region's own inner variation, by :data:`EDGE_CONTRAST` for a full count.
    coherence : np.ndarray
        ``1 - inner / boundary``: how much more the region differs from its surround along its
        boundary than the most unlike parts it was merged from differ from each other.
    saliency : np.ndarray
        Mean superpixel saliency.
    figure : np.ndarray
        Share of the region's outline that lies inside the image rather than on its border.
    centre : np.ndarray
        ``exp(-d**2 / (2 * CENTRE_SIGMA**2))`` for the distance ``d`` of the centroid from the image
        centre, in units of the width and height.
    shadow : np.ndarray
        How much the region looks like a gap or shadow: darker than its surround (by
        :data:`SHADOW_DARKNESS` in L* for a full count) times unsaturated (chroma under :data:`SHADOW_CHROMA`).
    """

    area: np.ndarray
    background: np.ndarray
    contrast: np.ndarray
    closure: np.ndarray
    coherence: np.ndarray
    saliency: np.ndarray
    figure: np.ndarray
    centre: np.ndarray
    shadow: np.ndarray

    @classmethod
    def of(cls, analysis: SaliencyAnalysis, features: SuperpixelFeatures, hierarchy: Hierarchy) -> ObjectCues:
        """The cues of every region of ``hierarchy``."""
        from scipy.sparse import csr_matrix

        superpixels = analysis.superpixels
        height, width = superpixels.shape
        n = len(features.count)
        members = hierarchy.members
        share = members.astype(float)
        flat = superpixels.ravel()
        rows, cols = np.indices(superpixels.shape)
        sums = np.stack(
            [np.bincount(flat, weights=analysis.lab[..., c].ravel(), minlength=n) for c in range(3)]
            + [
                np.bincount(flat, weights=(cols.ravel() + 0.5) / width, minlength=n),
                np.bincount(flat, weights=(rows.ravel() + 0.5) / height, minlength=n),
                features.count * analysis.saliency,
            ],
            axis=1,
        )
        pixels = share @ features.count
        lab_l, lab_a, lab_b, centre_u, centre_v, saliency = ((share @ sums) / pixels[:, None]).T
        area = pixels / superpixels.size
        sides = (superpixels[0], superpixels[-1], superpixels[:, 0], superpixels[:, -1])
        on_side = np.stack([np.bincount(side, minlength=n) for side in sides], axis=1).astype(float)
        cover = share @ (on_side / np.array([len(side) for side in sides]))
        background = background_rule(area, cover, lab_a, lab_b, centre_v)

        a, b = features.pairs.T
        length, distance = features.length, features.distance
        crossing = members[:, a] != members[:, b]
        inside = members[:, a] & members[:, b]
        perimeter = crossing @ length
        boundary = (crossing @ (length * distance)) / np.maximum(perimeter, 1e-12)
        variation = (inside @ (length * distance)) / np.maximum(inside @ length, 1e-12)
        edge = np.clip((distance[None, :] - variation[:, None]) / EDGE_CONTRAST, 0.0, 1.0)
        closure = ((crossing * edge) @ length) / np.maximum(perimeter, 1e-12)
        coherence = np.clip(1.0 - hierarchy.inner / np.maximum(boundary, 1e-12), 0.0, 1.0)
        figure = perimeter / np.maximum(perimeter + share @ on_side.sum(axis=1), 1e-12)

        # Border shared with each superpixel across the boundary: (k, m) edge weights onto (m, n) ends.
        m = len(length)
        ends_a = csr_matrix((np.ones(m), (np.arange(m), a)), shape=(m, n))
        ends_b = csr_matrix((np.ones(m), (np.arange(m), b)), shape=(m, n))
        shared = (ends_a.T @ ((crossing & ~members[:, a]) * length).T).T
        shared += (ends_b.T @ ((crossing & ~members[:, b]) * length).T).T
        weights = shared / np.maximum(shared.sum(axis=1, keepdims=True), 1e-12)
        contrast = histogram_distance(hierarchy.histograms, weights @ features.histograms)
        surround_l = weights @ (sums[:, 0] / features.count)
        darker = np.clip((surround_l - lab_l) / SHADOW_DARKNESS, 0.0, 1.0)
        shadow = darker * np.clip(1.0 - np.hypot(lab_a, lab_b) / SHADOW_CHROMA, 0.0, 1.0)
        centre = np.exp(-((centre_u - 0.5) ** 2 + (centre_v - 0.5) ** 2) / (2 * CENTRE_SIGMA**2))
        return cls(area, background, contrast, closure, coherence, saliency, figure, centre, shadow)

    def score_without_shape(self) -> np.ndarray:
        """The product of every factor of step 6 but thickness, shape (k,), in [0, 1]."""
        return (
            size_factor(self.area)
            * np.sqrt(self.contrast)
            * self.closure
            * self.coherence
            * np.sqrt(self.saliency)
            * self.figure
            * self.centre
            * (1.0 - SHADOW_WEIGHT * self.shadow)
        )


def segment_at(analysis: SaliencyAnalysis, u: float, v: float) -> np.ndarray:
    """Boolean mask (shape ``image_shape``) of the segment containing image point ``(u, v)``.

    The segment is the group there (a salient component or a colour segment); when that
    group is judged background and is salient, its colour part there instead (a point on an object glued
    to a strip of sky picks the object, not the strip).
    """
    superpixel = analysis.superpixel_at(u, v)
    group = analysis.groups[superpixel]
    background = _group_background(analysis, analysis.groups)
    if background[group] and analysis.salient[superpixel]:
        return analysis.to_image(analysis.parts == analysis.parts[superpixel])
    return analysis.to_image(analysis.groups == group)


def _group_background(analysis: SaliencyAnalysis, labelling: np.ndarray) -> np.ndarray:
    """Background flag (shape (k,), bool) of each region of a labelling of the superpixels."""
    superpixels = analysis.superpixels
    height, width = superpixels.shape
    k = int(labelling.max()) + 1
    region_of_pixel = labelling[superpixels].ravel()
    area = np.bincount(region_of_pixel, minlength=k).astype(float)

    def mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(region_of_pixel, weights=values, minlength=k) / np.maximum(area, 1)

    lab = analysis.lab.reshape(-1, 3)
    centre_v = mean(np.repeat((np.arange(height) + 0.5) / height, width))
    borders = [superpixels[0], superpixels[-1], superpixels[:, 0], superpixels[:, -1]]
    cover = np.stack([np.bincount(labelling[side], minlength=k) / len(side) for side in borders], axis=1)
    return background_rule(area / superpixels.size, cover, mean(lab[:, 1]), mean(lab[:, 2]), centre_v)


def background_rule(
    area: np.ndarray, cover: np.ndarray, mean_a: np.ndarray, mean_b: np.ndarray, centre_v: np.ndarray
) -> np.ndarray:
    """Step 4: which regions are background (sky, floor, ground, ceiling, a wall) or specks.

    Parameters
    ----------
    area : np.ndarray, shape (k,)
        Share of the image covered.
    cover : np.ndarray, shape (k, 4)
        Share of the top, bottom, left and right image borders held by each region.
    mean_a, mean_b : np.ndarray, shape (k,)
        Mean CIE-Lab a* and b*.
    centre_v : np.ndarray, shape (k,)
        Mean row of the region over the image height (0 top, 1 bottom).

    Returns
    -------
    np.ndarray, shape (k,), bool
    """
    sky_coloured = (np.hypot(mean_a, mean_b) < LOW_CHROMA) | ((mean_b < 0) & (-mean_b > np.abs(mean_a)))
    return (
        (area > MAX_AREA_FRACTION)
        | (area < MIN_AREA_FRACTION)
        | (np.sum(cover >= LONG_BORDER_FRACTION, axis=1) >= 2)
        | (cover[:, 0] >= WIDE_BORDER_FRACTION)
        | (cover[:, 1] >= WIDE_BORDER_FRACTION)
        | ((cover[:, 2] > 0) & (cover[:, 3] > 0))
        | ((cover[:, 0] > 0) & (cover[:, 1] > 0))
        | ((cover[:, 0] > 0) & sky_coloured & (centre_v < 0.5))
    )


def size_factor(area_fraction: np.ndarray | float) -> np.ndarray:
    """Size prior in [0, 1]: the share of the image over :data:`FULL_SIZE_FRACTION`, at most 1.

    The subject of a photograph is usually large in it; a narrow gap or a small ornament is rarely
    what the photographer (or a listener) attends to.

    >>> size_factor(np.array([0.003, 0.06, 0.15, 0.3, 0.5])).round(3).tolist()
    [0.01, 0.2, 0.5, 1.0, 1.0]
    """
    return np.clip(np.asarray(area_fraction, dtype=float) / FULL_SIZE_FRACTION, 0.0, 1.0)


def thickness(mask: np.ndarray) -> float:
    """Radius of the largest disc inside a non-empty ``mask`` over the radius of a disc of its area.

    About 1 for a disc, 0.89 for a square, 0.44 for a 1:4 bar, and small for a sliver or a gap.

    >>> disc = np.hypot(*np.mgrid[-20:21, -20:21]) <= 15
    >>> round(thickness(disc), 2), round(thickness(np.ones((10, 40), dtype=bool)), 2)
    (1.0, 0.44)
    """
    from scipy.ndimage import distance_transform_edt

    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    crop = np.pad(mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 1)
    return float(distance_transform_edt(crop).max() / math.sqrt(np.count_nonzero(crop) / math.pi))


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
    from scipy.sparse.linalg import spsolve

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
    # The system is sparse (one row per superpixel, one entry per neighbour): a sparse solver keeps it
    # fast and free of multithreaded BLAS.
    i, j = graph.edges.T
    degree = np.bincount(i, weights=smooth, minlength=n) + np.bincount(j, weights=smooth, minlength=n)
    diagonal = degree + background + foreground + 1e-9
    rows = np.concatenate([i, j, np.arange(n)])
    cols = np.concatenate([j, i, np.arange(n)])
    system = coo_matrix((np.concatenate([-smooth, -smooth, diagonal]), (rows, cols)), shape=(n, n)).tocsc()
    saliency = spsolve(system, foreground)
    return np.clip(saliency, 0.0, 1.0)
