"""The conventions every part of Soundstage shares, in one place.

Listener frame
    Right-handed, head-centred: **x forward, y left, z up** (as SOFA and AmbiX).
Azimuth
    Degrees, counter-clockwise seen from above, measured from the front: 0° ahead,
    **+90° to the left**, -90° (or 270°) to the right, 180° behind.
Elevation
    Degrees above the horizontal plane: +90° straight up, -90° straight down.
Distance
    Metres from the centre of the head.
Orientation
    Yaw (positive turns the nose to the left, like azimuth), pitch (positive looks up)
    and roll (positive raises the left ear), in degrees; see :func:`rotation_matrix`.
Ambisonics
    AmbiX: ACN channel order (``acn = l * (l + 1) + m``) with SN3D normalisation.
Loudspeaker layouts
    ITU-R BS.775: centre 0°, front pair ±30°, 5.1 surrounds ±110°; 7.1 sides ±90° and
    backs ±135°. Channels stored in WAVE_FORMAT_EXTENSIBLE mask-bit (SMPTE) order.

Everything that converts between directions, vectors and angles lives here so
that no other module invents its own convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Speed of sound in air at about 20 °C, in m/s.
SPEED_OF_SOUND = 343.0

#: Default head radius in metres (Algazi et al.'s average adult, as used by Duda & Martens).
DEFAULT_HEAD_RADIUS = 0.0875


def spherical_to_cartesian(
    azimuth_deg: np.ndarray | float,
    elevation_deg: np.ndarray | float,
    distance: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Convert listener-frame spherical coordinates to cartesian ones.

    Parameters
    ----------
    azimuth_deg : float or np.ndarray
        Azimuth in degrees, counter-clockwise from the front (+90° = left).
    elevation_deg : float or np.ndarray
        Elevation in degrees above the horizontal plane.
    distance : float or np.ndarray, default 1.0
        Distance in metres.

    Returns
    -------
    np.ndarray, shape (..., 3)
        Cartesian x (forward), y (left), z (up), in metres.

    Examples
    --------
    >>> spherical_to_cartesian(90.0, 0.0).round(12)
    array([0., 1., 0.])
    """
    az = np.deg2rad(np.asarray(azimuth_deg, dtype=float))
    el = np.deg2rad(np.asarray(elevation_deg, dtype=float))
    r = np.asarray(distance, dtype=float)
    x = r * np.cos(el) * np.cos(az)
    y = r * np.cos(el) * np.sin(az)
    z = r * np.sin(el)
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def cartesian_to_spherical(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert listener-frame cartesian coordinates to azimuth, elevation and distance.

    Parameters
    ----------
    xyz : np.ndarray, shape (..., 3)
        Points in metres, x forward, y left, z up.

    Returns
    -------
    azimuth_deg : np.ndarray, shape (...)
        Azimuth in degrees in (-180, 180], positive to the left.
    elevation_deg : np.ndarray, shape (...)
        Elevation in degrees in [-90, 90].
    distance : np.ndarray, shape (...)
        Distance in metres.

    Examples
    --------
    >>> az, el, r = cartesian_to_spherical(np.array([0.0, -2.0, 0.0]))
    >>> float(az), float(el), float(r)
    (-90.0, 0.0, 2.0)
    """
    xyz = np.asarray(xyz, dtype=float)
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    horizontal = np.hypot(x, y)
    distance = np.hypot(horizontal, z)
    azimuth = np.rad2deg(np.arctan2(y, x))
    elevation = np.rad2deg(np.arctan2(z, horizontal))
    return azimuth, elevation, distance


def unit_vectors(azimuth_deg: np.ndarray | float, elevation_deg: np.ndarray | float) -> np.ndarray:
    """Unit direction vectors for the given azimuths and elevations (degrees), shape (..., 3)."""
    return spherical_to_cartesian(azimuth_deg, elevation_deg, 1.0)


def wrap_azimuth(azimuth_deg: np.ndarray | float) -> np.ndarray:
    """Wrap azimuths in degrees into (-180, 180]."""
    wrapped = -((180.0 - np.asarray(azimuth_deg, dtype=float)) % 360.0) + 180.0
    return wrapped


def lateral_angle_deg(direction: np.ndarray) -> np.ndarray:
    """Lateral angle in degrees (interaural-polar coordinates): +90° at the left ear, -90° right.

    Parameters
    ----------
    direction : np.ndarray, shape (..., 3)
        Direction vectors in the listener frame (need not be unit length).
    """
    direction = np.asarray(direction, dtype=float)
    norm = np.linalg.norm(direction, axis=-1)
    return np.rad2deg(np.arcsin(np.clip(direction[..., 1] / norm, -1.0, 1.0)))


def rotation_matrix(yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """Rotation taking head-frame vectors to world-frame vectors.

    The head is turned by ``yaw_deg`` about z (positive to the left, like azimuth),
    then tilted by ``pitch_deg`` (positive looks up), then rolled by ``roll_deg`` about
    its own forward axis (positive raises the left ear): ``R = Rz(yaw) Ry(-pitch) Rx(roll)``.

    Parameters
    ----------
    yaw_deg, pitch_deg, roll_deg : float
        Angles in degrees.

    Returns
    -------
    np.ndarray, shape (3, 3)
        ``R`` such that ``world = R @ head``. World-to-head is ``R.T``.

    Examples
    --------
    >>> (rotation_matrix(yaw_deg=90.0) @ np.array([1.0, 0.0, 0.0])).round(12)
    array([0., 1., 0.])
    """
    yaw, pitch, roll = np.deg2rad([yaw_deg, pitch_deg, roll_deg])
    cz, sz = np.cos(yaw), np.sin(yaw)
    rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    # A positive rotation about +y tips +x towards -z (nose down); looking up is the negative one.
    cy, sy = np.cos(-pitch), np.sin(-pitch)
    ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    cx, sx = np.cos(roll), np.sin(roll)
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    return rz @ ry @ rx


def acn_index(degree: int, order: int) -> int:
    """Ambisonic Channel Number of the spherical harmonic of degree ``degree`` (l) and order ``order`` (m)."""
    return degree * (degree + 1) + order


def ambisonic_channel_count(order: int) -> int:
    """Number of channels of a full-sphere ambisonic signal of the given order: (N + 1)²."""
    return (order + 1) ** 2


@dataclass(frozen=True)
class Speaker:
    """One loudspeaker of a layout.

    Attributes
    ----------
    label : str
        Channel label as in WAVE_FORMAT_EXTENSIBLE (``FL``, ``FR``, ``FC``, ``LFE``, ...).
    azimuth_deg : float
        Azimuth in degrees (+ = left). Ignored for the LFE channel.
    mask_bit : int
        The channel's bit in dwChannelMask.
    is_lfe : bool
        True for the low-frequency-effects channel, which takes no panned signal.
    """

    label: str
    azimuth_deg: float
    mask_bit: int
    is_lfe: bool = False


_FL = Speaker("FL", 30.0, 0x1)
_FR = Speaker("FR", -30.0, 0x2)
_FC = Speaker("FC", 0.0, 0x4)
_LFE = Speaker("LFE", 0.0, 0x8, is_lfe=True)

#: ITU-R BS.775 layouts in WAVE_FORMAT_EXTENSIBLE channel order (ascending mask bit).
SPEAKER_LAYOUTS: dict[str, tuple[Speaker, ...]] = {
    "stereo": (_FL, _FR),
    "5.1": (_FL, _FR, _FC, _LFE, Speaker("SL", 110.0, 0x200), Speaker("SR", -110.0, 0x400)),
    "7.1": (
        _FL,
        _FR,
        _FC,
        _LFE,
        Speaker("BL", 135.0, 0x10),
        Speaker("BR", -135.0, 0x20),
        Speaker("SL", 90.0, 0x200),
        Speaker("SR", -90.0, 0x400),
    ),
}


def channel_mask(layout: str) -> int:
    """dwChannelMask of a named layout (``"stereo"``, ``"5.1"`` = 0x60F, ``"7.1"`` = 0x63F)."""
    mask = 0
    for speaker in SPEAKER_LAYOUTS[layout]:
        mask |= speaker.mask_bit
    return mask


def quaternion_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    """Head-to-world rotation of a unit quaternion ``w x y z`` in the listener frame (x forward, y left, z up).

    >>> np.allclose(quaternion_matrix(np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)), rotation_matrix(90, 0, 0))
    True
    """
    q = np.array([w, x, y, z], dtype=float)
    norm = float(np.linalg.norm(q))
    if not np.isfinite(norm) or norm < 1e-9:
        raise ValueError("a quaternion of length 0")
    w, x, y, z = q / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
