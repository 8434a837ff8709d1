"""The listener frame, azimuth sign, rotations and layouts, checked against their definitions."""

import numpy as np
import pytest

from soundstage.conventions import (
    SPEAKER_LAYOUTS,
    acn_index,
    ambisonic_channel_count,
    cartesian_to_spherical,
    channel_mask,
    lateral_angle_deg,
    quaternion_matrix,
    rotation_matrix,
    spherical_to_cartesian,
    wrap_azimuth,
)


@pytest.mark.parametrize(
    ("az", "el", "expected"),
    [(0, 0, [1, 0, 0]), (90, 0, [0, 1, 0]), (-90, 0, [0, -1, 0]), (180, 0, [-1, 0, 0]), (0, 90, [0, 0, 1])],
)
def test_axes_x_forward_y_left_z_up(az, el, expected):
    np.testing.assert_allclose(spherical_to_cartesian(az, el), expected, atol=1e-12)


def test_spherical_cartesian_round_trip():
    rng = np.random.default_rng(0)
    az = rng.uniform(-179, 179, 200)
    el = rng.uniform(-89, 89, 200)
    dist = rng.uniform(0.1, 10, 200)
    back = cartesian_to_spherical(spherical_to_cartesian(az, el, dist))
    np.testing.assert_allclose(back[0], az, atol=1e-9)
    np.testing.assert_allclose(back[1], el, atol=1e-9)
    np.testing.assert_allclose(back[2], dist, rtol=1e-12)


def test_wrap_azimuth_into_half_open_interval():
    np.testing.assert_allclose(wrap_azimuth([270, -270, 180, -180, 540, 10]), [-90, 90, 180, 180, 180, 10])


def test_lateral_angle_is_positive_on_the_left():
    assert lateral_angle_deg(np.array([0.0, 1.0, 0.0])) == pytest.approx(90.0)
    # Front and back share a lateral angle (the cone of confusion).
    front = spherical_to_cartesian(30, 0)
    back = spherical_to_cartesian(150, 0)
    assert lateral_angle_deg(front) == pytest.approx(lateral_angle_deg(back))


def test_rotation_yaw_turns_left_and_is_orthonormal():
    r = rotation_matrix(yaw_deg=90)
    np.testing.assert_allclose(r @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    rr = rotation_matrix(30, 20, -10)
    np.testing.assert_allclose(rr @ rr.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rr) == pytest.approx(1.0)


def test_rotation_pitch_up_and_roll_left_ear_up():
    np.testing.assert_allclose(rotation_matrix(pitch_deg=90) @ [1, 0, 0], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(rotation_matrix(roll_deg=90) @ [0, 1, 0], [0, 0, 1], atol=1e-12)


def test_acn_first_order_is_w_y_z_x():
    assert [acn_index(0, 0), acn_index(1, -1), acn_index(1, 0), acn_index(1, 1)] == [0, 1, 2, 3]
    assert ambisonic_channel_count(3) == 16


def test_itu_layouts_and_masks():
    assert channel_mask("5.1") == 0x60F
    assert channel_mask("7.1") == 0x63F
    assert [s.label for s in SPEAKER_LAYOUTS["5.1"]] == ["FL", "FR", "FC", "LFE", "SL", "SR"]
    assert [s.label for s in SPEAKER_LAYOUTS["7.1"]] == ["FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"]
    azimuths = {s.label: s.azimuth_deg for s in SPEAKER_LAYOUTS["5.1"]}
    assert (azimuths["FL"], azimuths["FR"], azimuths["SL"], azimuths["SR"]) == (30, -30, 110, -110)
    azimuths7 = {s.label: s.azimuth_deg for s in SPEAKER_LAYOUTS["7.1"]}
    assert (azimuths7["SL"], azimuths7["BL"], azimuths7["BR"]) == (90, 135, -135)
    for layout in SPEAKER_LAYOUTS.values():
        bits = [s.mask_bit for s in layout]
        assert bits == sorted(bits), "channels must be in mask-bit order"


def test_a_quaternion_turns_as_scipys_rotation_of_it():
    """Any w x y z (unnormalised, normalised here) against SciPy's Rotation (which takes x y z w)."""
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(7)
    for w, x, y, z in 3.0 * rng.standard_normal((50, 4)):
        expected = Rotation.from_quat([x, y, z, w]).as_matrix()
        np.testing.assert_allclose(quaternion_matrix(w, x, y, z), expected, atol=1e-12)
    with pytest.raises(ValueError, match="length 0"):
        quaternion_matrix(0.0, 0.0, 0.0, 0.0)
