"""Sound paths of a moving source: each path is an affine image of the source.

A standing source's arrivals are fixed numbers; a moving source needs to know *how each arrival
moves with it*. Every specular path is an image of the source under a fixed affine map: the direct
sound is the source itself, a reflection off a plane is its mirror image, and a shoebox's image
lattice is ``x = (1 − 2q) s + 2nL`` per axis. So a path is ``image(t) = A s(t) + b`` plus the
reflection losses of the surfaces it met (constant while it exists), and a key that names it across
updates so its delay can glide instead of jump. Which paths exist (the images within the mixing time)
is re-evaluated at a lower rate; paths that come or go fade.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ


@dataclass(frozen=True)
class ImagePaths:
    """The specular paths of one source at one moment.

    Attributes
    ----------
    keys : tuple of hashable
        One name per path, stable while the path exists.
    matrices : np.ndarray, shape (K, 3, 3)
        ``A`` of each path: image = ``A @ source + b``.
    offsets : np.ndarray, shape (K, 3)
        ``b`` of each path, metres.
    log_reflection : np.ndarray, shape (K, B)
        Natural log of the path's pressure reflection coefficient in each band of
        :data:`~soundstage.acoustics.arrivals.OCTAVE_BANDS_HZ` (0 for the direct sound).
    order : np.ndarray of int, shape (K,)
        Reflections on the path (0 = direct sound).
    """

    keys: tuple
    matrices: np.ndarray
    offsets: np.ndarray
    log_reflection: np.ndarray
    order: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    def images(self, source_positions: np.ndarray) -> np.ndarray:
        """Image positions for source positions (K, ..., 3) per path, or (3,) for all: shape (K, ..., 3)."""
        s = np.asarray(source_positions, dtype=float)
        if s.ndim == 1:
            return np.einsum("kij,j->ki", self.matrices, s) + self.offsets
        return np.einsum("kij,k...j->k...i", self.matrices, s) + self.offsets.reshape(
            (len(self),) + (1,) * (s.ndim - 2) + (3,)
        )

    @classmethod
    def concatenate(cls, parts: list[ImagePaths]) -> ImagePaths:
        """The paths of several sets, in order."""
        arrays = ("matrices", "offsets", "log_reflection", "order")
        return cls(
            tuple(key for part in parts for key in part.keys),
            *(np.concatenate([getattr(part, name) for part in parts]) for name in arrays),
        )

    def subset(self, keep: np.ndarray) -> ImagePaths:
        keep = np.asarray(keep)
        index = np.flatnonzero(keep) if keep.dtype == bool else keep
        return ImagePaths(
            tuple(self.keys[i] for i in index),
            self.matrices[index],
            self.offsets[index],
            self.log_reflection[index],
            self.order[index],
        )


def direct_path() -> ImagePaths:
    """The source itself: identity map, no reflection."""
    return ImagePaths(
        ("direct",), np.eye(3)[None], np.zeros((1, 3)), np.zeros((1, len(OCTAVE_BANDS_HZ))), np.zeros(1, dtype=int)
    )


def ground_paths(reflection: np.ndarray) -> ImagePaths:
    """The direct sound and its mirror image below the ground plane z = 0.

    Parameters
    ----------
    reflection : np.ndarray, shape (B,)
        Pressure reflection coefficient of the ground per band.
    """
    mirror = np.diag([1.0, 1.0, -1.0])
    direct = direct_path()
    return ImagePaths(
        ("direct", "ground"),
        np.stack([np.eye(3), mirror]),
        np.zeros((2, 3)),
        np.stack([direct.log_reflection[0], np.log(np.asarray(reflection, dtype=float))]),
        np.array([0, 1]),
    )


def shoebox_paths(
    room,
    source_position: np.ndarray,
    listener_position: np.ndarray,
    *,
    max_distance_m: float,
    max_order: int | None,
) -> ImagePaths:
    """The image sources of a shoebox within ``max_distance_m`` of the listener, as paths.

    Each image is keyed by its lattice indices ``(n, q)`` per axis, which do not change as the
    source moves, so the same reflection keeps its name from one update to the next.
    """
    from soundstage.acoustics.room.shoebox import image_sources

    source = np.asarray(source_position, dtype=float)
    images, hits = image_sources(room, source, listener_position, max_distance_m=max_distance_m, max_order=max_order)
    size = np.asarray(room.size_m, dtype=float)
    # Per axis the order along it is |2n − q|, odd exactly when the image is mirrored (q = 1).
    q = (hits[:, 0::2] + hits[:, 1::2]) % 2  # (K, 3): hits on the low and high wall of each axis
    sign = 1.0 - 2.0 * q
    n = np.rint((images - sign * source) / (2.0 * size)).astype(np.int64)
    log_reflection = hits @ (0.5 * np.log1p(-room.absorption))
    keys = tuple(("image", *map(int, nq)) for nq in np.concatenate([n, q], axis=1))
    matrices = np.zeros((len(images), 3, 3))
    matrices[:, [0, 1, 2], [0, 1, 2]] = sign
    paths = ImagePaths(keys, matrices, 2.0 * n * size, log_reflection, hits.sum(axis=1))
    if not np.any(paths.order == 0):
        # The direct sound is heard however far the source is; only reflections stop at the mixing time.
        direct = ImagePaths(
            (("image", 0, 0, 0, 0, 0, 0),),
            np.eye(3)[None],
            np.zeros((1, 3)),
            np.zeros((1, log_reflection.shape[1])),
            np.zeros(1, dtype=int),
        )
        paths = ImagePaths.concatenate([direct, paths])
    return paths


def mesh_paths(
    room,
    source_position: np.ndarray,
    listener_position: np.ndarray,
    *,
    max_distance_m: float,
    max_order: int,
    scattering: np.ndarray | None = None,
) -> ImagePaths:
    """The visible image sources of a mesh room within ``max_distance_m``, as paths keyed by their planes.

    With ``scattering`` (P, B), each reflection keeps only its specular share, as
    :func:`~soundstage.acoustics.room.mesh.mesh_image_arrivals` does.

    An image made by reflecting off planes ``p1, p2, …`` (first reflection first) is the source under the
    composition of the planes' reflections ``x → x − 2 (n·x − d) n``, an affine map that does not depend on
    where the source is; which images are visible does, so the set is refreshed as the source moves.
    """
    from soundstage.acoustics.room.mesh import log_pressure_reflection, visible_images

    source = np.asarray(source_position, dtype=float)
    listener = np.asarray(listener_position, dtype=float)
    _images, orders, chains = visible_images(room, source, listener, max_order=max_order, max_distance_m=max_distance_m)
    log_coefficient = log_pressure_reflection(room.absorption, scattering)
    k = len(chains)
    matrices = np.repeat(np.eye(3)[None], k, axis=0)
    offsets = np.zeros((k, 3))
    log_reflection = np.zeros((k, len(OCTAVE_BANDS_HZ)))
    for index, chain in enumerate(chains):
        for plane in chain:
            normal, distance = room.plane_normals[plane], room.plane_offsets[plane]
            mirror = np.eye(3) - 2.0 * np.outer(normal, normal)
            matrices[index] = mirror @ matrices[index]
            offsets[index] = mirror @ offsets[index] + 2.0 * distance * normal
            log_reflection[index] += log_coefficient[plane]
    keys = tuple(("planes", *chain) for chain in chains)
    return ImagePaths(keys, matrices, offsets, log_reflection, np.asarray(orders, dtype=int))
