"""Hierarchical grouping of superpixels into candidate objects, after selective search.

An object is rarely one superpixel, and rarely one patch of uniform colour: a dog's fur, a shelf of
books or a car with its windows and wheels are many patches that belong together. Following Uijlings,
van de Sande, Gevers & Smeulders, "Selective search for object recognition" (IJCV 2013), the
superpixels are described by colour and texture histograms, and the two adjacent regions that are most
alike are merged, again and again, until one region is left. Every region formed on the way is a
candidate object: ``2 n - 1`` nested candidates for ``n`` superpixels, among which the finder picks.

- **Descriptors.** Per superpixel, soft-binned histograms of CIE-Lab ``L*`` (10 bins over 0..100),
  ``a*`` (10 bins over -40..60), ``b*`` (10 bins over -50..70) and of the gradient magnitude of ``L*``
  (8 bins of ``log(1 + |grad L*|)`` over 0..40 per analysis pixel), the texture. A region's histograms
  are the pixel-weighted mean of its superpixels'.
- **Distance.** The chi-squared distance of each histogram, weighted 0.3 (``L*``), 0.2, 0.2 (``a*``,
  ``b*``) and 0.3 (texture), in [0, 1]: 0 for the same distribution, 1 for disjoint ones.
- **Merging order.** The adjacent pair with the least cost goes first; the cost is their distance plus
  ``size_weight`` times their joint share of the image (so that small regions merge before large ones,
  as selective search's size term does) plus ``saliency_weight`` times their difference of mean
  saliency (so that figure and ground join last).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

#: (low, high, bins) of the soft histograms of L*, a*, b* and log(1 + |grad L*|).
HISTOGRAMS = ((0.0, 100.0, 10), (-40.0, 60.0, 10), (-50.0, 70.0, 10), (0.0, float(np.log1p(40.0)), 8))
#: Weight of each histogram in the distance (sums to 1).
HISTOGRAM_WEIGHTS = (0.3, 0.2, 0.2, 0.3)


@dataclass(frozen=True)
class SuperpixelFeatures:
    """Descriptors of the superpixels of an image and their adjacency.

    Attributes
    ----------
    count : np.ndarray, shape (n,), float
        Pixels per superpixel.
    histograms : np.ndarray, shape (n, 38), float
        The four histograms of :data:`HISTOGRAMS` side by side, each summing to 1.
    pairs : np.ndarray, shape (m, 2), int
        Adjacent superpixels ``(a, b)`` with ``a < b``.
    length : np.ndarray, shape (m,), float
        Length of the border between each pair, in analysis pixels.
    distance : np.ndarray, shape (m,), float
        :func:`histogram_distance` between each pair, in [0, 1].
    """

    count: np.ndarray
    histograms: np.ndarray
    pairs: np.ndarray
    length: np.ndarray
    distance: np.ndarray

    @classmethod
    def of(cls, superpixels: np.ndarray, lab: np.ndarray) -> SuperpixelFeatures:
        """Features of ``superpixels`` (shape (h, w), labels ``0 .. n - 1``) of the CIE-Lab image ``lab``."""
        n = int(superpixels.max()) + 1
        flat = superpixels.ravel()
        count = np.bincount(flat, minlength=n).astype(float)
        grad_v, grad_u = np.gradient(lab[..., 0])
        channels = (lab[..., 0], lab[..., 1], lab[..., 2], np.log1p(np.hypot(grad_u, grad_v)))
        histograms = np.concatenate(
            [
                _soft_histogram(values.ravel(), flat, n, low, high, bins)
                for values, (low, high, bins) in zip(channels, HISTOGRAMS, strict=True)
            ],
            axis=1,
        )
        pairs = np.concatenate(
            [
                np.stack([superpixels[:, :-1].ravel(), superpixels[:, 1:].ravel()], axis=1),
                np.stack([superpixels[:-1].ravel(), superpixels[1:].ravel()], axis=1),
            ]
        )
        pairs = np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1)
        pairs, length = np.unique(pairs, axis=0, return_counts=True)
        distance = histogram_distance(histograms[pairs[:, 0]], histograms[pairs[:, 1]])
        return cls(count, histograms, pairs, length.astype(float), distance)


@dataclass(frozen=True)
class Hierarchy:
    """The regions formed while merging superpixels: the ``n`` superpixels first, then each merge.

    Attributes
    ----------
    members : np.ndarray, shape (k, n), bool
        Superpixels of each region.
    histograms : np.ndarray, shape (k, 38), float
        Descriptor histograms of each region.
    inner : np.ndarray, shape (k,), float
        The largest distance between two parts merged inside each region (0 for a superpixel): how
        unlike each other the pieces it was built from are.
    """

    members: np.ndarray
    histograms: np.ndarray
    inner: np.ndarray


def histogram_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Weighted chi-squared distance, in [0, 1], between descriptor histograms ``p`` and ``q`` (shape (..., 38))."""
    weights = np.repeat(HISTOGRAM_WEIGHTS, [bins for _, _, bins in HISTOGRAMS])
    total = p + q
    return 0.5 * np.sum(weights * (p - q) ** 2 / np.where(total > 0, total, 1.0), axis=-1)


def merge_hierarchy(
    features: SuperpixelFeatures,
    saliency: np.ndarray,
    *,
    size_weight: float = 0.5,
    saliency_weight: float = 0.5,
) -> Hierarchy:
    """Merge adjacent regions, least cost first, until one region is left.

    Parameters
    ----------
    features : SuperpixelFeatures
        The superpixels' descriptors and adjacency.
    saliency : np.ndarray, shape (n,)
        Saliency of each superpixel in [0, 1].
    size_weight : float
        Cost per share of the image covered by the pair (favours merging small regions first).
    saliency_weight : float
        Cost per unit of difference between the pair's mean saliencies.

    Returns
    -------
    Hierarchy
        ``2 n - 1`` regions when the superpixels are connected (fewer when the adjacency graph has
        several components).
    """
    n = len(features.count)
    k = 2 * n - 1
    size = np.zeros(k)
    size[:n] = features.count
    histograms = np.zeros((k, features.histograms.shape[1]))
    histograms[:n] = features.histograms
    mean_saliency = np.zeros(k)
    mean_saliency[:n] = saliency
    members = np.zeros((k, n), dtype=bool)
    members[np.arange(n), np.arange(n)] = True
    inner = np.zeros(k)
    alive = np.zeros(k, dtype=bool)
    alive[:n] = True
    neighbours: list[set[int]] = [set() for _ in range(k)]
    for a, b in features.pairs.tolist():
        neighbours[a].add(b)
        neighbours[b].add(a)
    total = float(features.count.sum())

    def costs(a: int, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        distance = histogram_distance(histograms[a], histograms[others])
        cost = (
            distance
            + size_weight * (size[a] + size[others]) / total
            + saliency_weight * np.abs(mean_saliency[a] - mean_saliency[others])
        )
        return cost, distance

    a, b = features.pairs.T
    first_cost = (
        features.distance
        + size_weight * (size[a] + size[b]) / total
        + saliency_weight * np.abs(mean_saliency[a] - mean_saliency[b])
    )
    # Entries (cost, a, b, distance); ties go to the lower labels, so the order is deterministic.
    heap = list(zip(first_cost.tolist(), a.tolist(), b.tolist(), features.distance.tolist(), strict=True))
    heapq.heapify(heap)
    new = n
    while heap and new < k:
        _, a, b, distance = heapq.heappop(heap)
        if not (alive[a] and alive[b]):
            continue
        alive[a] = alive[b] = False
        size[new] = size[a] + size[b]
        histograms[new] = (histograms[a] * size[a] + histograms[b] * size[b]) / size[new]
        mean_saliency[new] = (mean_saliency[a] * size[a] + mean_saliency[b] * size[b]) / size[new]
        members[new] = members[a] | members[b]
        inner[new] = max(inner[a], inner[b], distance)
        around = sorted((neighbours[a] | neighbours[b]) - {a, b})
        for other in around:
            neighbours[other] -= {a, b}
            neighbours[other].add(new)
        neighbours[new] = set(around)
        alive[new] = True
        if around:
            others = np.array(around)
            cost, dist = costs(new, others)
            for c, o, d in zip(cost.tolist(), around, dist.tolist(), strict=True):
                heapq.heappush(heap, (c, o, new, d))
        new += 1
    return Hierarchy(members[:new], histograms[:new], inner[:new])


def _soft_histogram(values: np.ndarray, labels: np.ndarray, n: int, low: float, high: float, bins: int) -> np.ndarray:
    """Per-label histograms (shape (n, bins), rows summing to 1) with linear interpolation between bins."""
    position = np.clip((values - low) / (high - low) * bins - 0.5, 0.0, bins - 1.0)
    lower = np.floor(position).astype(int)
    upper = np.minimum(lower + 1, bins - 1)
    weight = position - lower
    counts = np.bincount(labels * bins + lower, weights=1.0 - weight, minlength=n * bins)
    counts += np.bincount(labels * bins + upper, weights=weight, minlength=n * bins)
    counts = counts.reshape(n, bins)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-12)
