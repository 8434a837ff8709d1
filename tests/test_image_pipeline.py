"""The image pipeline end to end: a ray-cast RGB-D scene, the real photos, the CLI and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import yaml

from shared_data import SHARED_DATA
from soundstage.acoustics.render import render
from soundstage.cli.main import main
from soundstage.conventions import cartesian_to_spherical
from soundstage.errors import InputFileError, ParameterError
from soundstage.metrics.localize_binaural import localize_binaural
from soundstage.scene import load_scene, scene_from_dict
from soundstage.vision.pipeline import ImageJob, image_to_scene
from soundstage.vision.room_fit import sky_share
from synthetic_scene import CARDS, FOV_DEG, save_scene_files

RATE = 16000
WIDTH, HEIGHT = 480, 360


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test may reach for the network: the offline backends must carry every run."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("SOUNDSTAGE_OFFLINE", "1")


def _bursts(path, seed: int) -> None:
    """Noise bursts with gaps (onsets for the localizer), 1.5 s at 16 kHz."""
    rng = np.random.default_rng(seed)
    signal = np.zeros(int(1.5 * RATE), dtype=np.float32)
    for start in range(0, len(signal) - 800, RATE // 5):
        signal[start : start + 800] = rng.standard_normal(800) * 0.3
    soundfile.write(path, signal, RATE)


def _card_pixel(card, camera) -> tuple[float, float]:
    """Where a card's centre projects in the analysed image."""
    u, v = camera.project(np.array([card.centre]))
    return float(np.ravel(u)[0]), float(np.ravel(v)[0])


def _card_box(card, camera) -> tuple[float, float, float, float]:
    """The box a card's four corners project to (a point prompt would merge the floor card with the sphere)."""
    x, y, z = card.centre
    corners = np.array([[x, y + sy * card.half_y, z + sz * card.half_z] for sy in (-1, 1) for sz in (-1, 1)])
    u, v = (np.ravel(c) for c in camera.project(corners))
    return float(u.min()), float(v.min()), float(u.max()), float(v.max())


@pytest.fixture
def rgbd(tmp_path):
    """The synthetic capture on disk: colour PNG, 16-bit depth PNG in mm, and two sounds."""
    _depth, _ids, camera = save_scene_files(tmp_path, WIDTH, HEIGHT)
    _bursts(tmp_path / "a.wav", 1)
    _bursts(tmp_path / "b.wav", 2)
    return tmp_path, camera


def test_an_rgbd_capture_places_each_sound_at_its_object(rgbd) -> None:
    folder, camera = rgbd
    regions = [(f"card{i}", _card_box(card, camera)) for i, card in enumerate(CARDS)]
    job = ImageJob(
        image=folder / "scene.png",
        sounds=[(f"card{i}", folder / "a.wav") for i in range(len(CARDS))],
        regions=regions,
        depth=str(folder / "depth.png"),
        fov_deg=FOV_DEG,
        room="none",
    )
    result = image_to_scene(job, output_format="binaural", sample_rate=RATE)
    assert result.depth.metric and result.depth.backend == "file"
    for placed in result.placed:
        truth = np.array(CARDS[int(placed.label[-1])].centre)
        az, el, dist = (float(np.ravel(x)[0]) for x in cartesian_to_spherical(placed.position_m[None, :]))
        az_true, el_true, dist_true = (float(np.ravel(x)[0]) for x in cartesian_to_spherical(truth[None, :]))
        assert dist == pytest.approx(dist_true, rel=0.02), placed.label
        assert abs(az - az_true) < 1.0 and abs(el - el_true) < 1.0, placed.label


def test_the_binaural_render_puts_each_sound_on_its_side(rgbd) -> None:
    folder, camera = rgbd
    left, right = CARDS[0], CARDS[1]  # y = +1.2 (left) and y = -1.5 (right)
    job = ImageJob(
        image=folder / "scene.png",
        sounds=[("left", folder / "a.wav"), ("right", folder / "b.wav")],
        regions=[("left", _card_pixel(left, camera)), ("right", _card_pixel(right, camera))],
        depth=str(folder / "depth.png"),
        fov_deg=FOV_DEG,
        room="auto",
    )
    result = image_to_scene(job, output_format="binaural", sample_rate=RATE)
    assert result.scene.room is not None and result.scene.room.shoebox is not None  # walls and floor seen: a room
    for index, sign in ((0, 1.0), (1, -1.0)):
        alone = scene_from_dict(
            {**result.scene.model_dump(exclude={"base_dir"}), "sources": [result.scene.sources[index].model_dump()]}
        )
        found = localize_binaural(render(alone, progress=False).audio, RATE, hrtf="sphere").sources
        assert found and np.sign(found[0].lateral_deg) == sign, result.scene.sources[index].name


def test_the_cli_writes_audio_scene_and_figures_and_the_scene_re_renders(rgbd) -> None:
    folder, camera = rgbd
    u, v = _card_pixel(CARDS[0], camera)
    out = folder / "out.wav"
    code = main(
        [
            "image", str(folder / "scene.png"), "--depth", str(folder / "depth.png"), "--fov", str(FOV_DEG),
            "--region", f"card={u:.0f},{v:.0f}", "--source", f"card={folder / 'a.wav'}", "--audio",
            str(folder / "b.wav"), "--sample-rate", str(RATE), "-o", str(out), "--mesh", str(folder / "room.ply"),
            "--explain", "--quiet",
        ]
    )
    assert code == 0
    for name in ("out.wav", "out.scene.yaml", "out.regions.png", "out.map.png", "room.ply"):
        assert (folder / name).stat().st_size > 0, name
    scene = load_scene(folder / "out.scene.yaml")
    names = [s.name for s in scene.sources]
    assert names[0] == "card" and len(names) == 2 and names[1].startswith("region")
    assert yaml.safe_load((folder / "out.scene.yaml").read_text())["output"]["sample_rate"] == RATE
    assert main(["render", str(folder / "out.scene.yaml"), "-o", str(folder / "again.wav"), "--quiet"]) == 0
    from soundstage.acoustics.room.mesh import load_mesh_room

    room = load_mesh_room(folder / "room.ply")
    listener = np.array([scene.listener.position.x, scene.listener.position.y, scene.listener.position.z])
    assert room.contains(listener[None, :])[0]  # the mesh is in the scene file's coordinates, around the listener
    # The mesh serves as the scene's room: a source just in front of the first card.
    from soundstage.acoustics.propagation import propagation_model

    in_front = listener + 0.85 * np.array(CARDS[0].centre)
    meshed = scene_from_dict(
        {
            "sources": [{"audio": str(folder / "a.wav"), "position": in_front.tolist()}],
            "listener": {"position": listener.tolist()},
            "output": {"format": "binaural", "sample_rate": RATE},
            "room": {"mesh": str(folder / "room.ply"), "materials": "plaster"},
        }
    )
    model = propagation_model(meshed)
    assert model.max_order == (1 if len(room.plane_names) > model.MANY_PLANES else 2)
    assert render(meshed, progress=False).audio.shape[0] == 2
    # Nothing is overwritten without --overwrite.
    assert main(["image", str(folder / "scene.png"), "--audio", str(folder / "a.wav"), "-o", str(out)]) != 0


def test_explain_says_which_backend_ran_offline(rgbd, capsys) -> None:
    folder, _ = rgbd
    code = main(
        ["image", str(folder / "scene.png"), "--audio", str(folder / "a.wav"), "--sample-rate", str(RATE),
         "-o", str(folder / "o.wav"), "--explain", "--quiet"]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "depth: geometric" in text and "using the offline geometric prior" in text
    assert "regions: classical" in text


@pytest.mark.parametrize("photo", ["truck.jpg", "groceries.jpg"])
def test_the_real_photos_run_end_to_end_offline(photo, tmp_path) -> None:
    path = SHARED_DATA / "images" / photo
    if not path.is_file():
        pytest.skip(f"{path} is absent (../shared/data not beside the checkout)")
    _bursts(tmp_path / "a.wav", 3)
    job = ImageJob(image=path, sounds=[(None, tmp_path / "a.wav")], room="auto")
    result = image_to_scene(job, output_format="binaural", sample_rate=RATE)
    assert result.depth.backend == "geometric" and len(result.placed) == 1
    region = result.placed[0].region
    assert 0.0005 < region.area_fraction < 0.4  # an object, not the sky, road or wall
    assert 0.3 < np.linalg.norm(result.placed[0].position_m) < 30.0
    assert render(result.scene, progress=False).audio.shape[0] == 2


def test_more_sounds_than_regions_says_how_to_give_one(tmp_path) -> None:
    from PIL import Image

    Image.new("RGB", (200, 150), (128, 128, 128)).save(tmp_path / "plain.png")
    _bursts(tmp_path / "a.wav", 4)
    job = ImageJob(image=tmp_path / "plain.png", sounds=[(None, tmp_path / "a.wav")], room="none")
    with pytest.raises(ParameterError, match="--region"):
        image_to_scene(job)


def test_unreadable_images_and_mismatched_depth_are_refused(rgbd) -> None:
    folder, _ = rgbd
    (folder / "broken.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(InputFileError, match=r"broken\.jpg"):
        image_to_scene(ImageJob(image=folder / "broken.jpg", sounds=[(None, folder / "a.wav")]))
    from PIL import Image

    Image.fromarray(np.full((10, 20), 1000, dtype=np.uint16)).save(folder / "small_depth.png")
    job = ImageJob(image=folder / "scene.png", sounds=[(None, folder / "a.wav")], depth=str(folder / "small_depth.png"))
    with pytest.raises(InputFileError, match="20×10"):
        image_to_scene(job)


def test_sky_is_what_is_smooth_bright_and_touches_the_top() -> None:
    image = np.full((100, 160, 3), 0.3)
    image[:40] = [0.45, 0.65, 0.95]  # blue sky over the top 40 rows
    assert sky_share(image) == pytest.approx(40 / 50, abs=0.03)  # the boundary row is not smooth
    inside = np.full((100, 160, 3), 0.3)
    inside[20:45, 40:120] = 0.95  # a white object that does not touch the top
    assert sky_share(inside) == 0.0
    wall = np.full((100, 160, 3), 0.9)  # a white wall filling the view looks like an overcast sky...
    assert sky_share(wall) > 0.9
    assert sky_share(wall, np.full((100, 160), 4.0)) == 0.0  # ...until a measured depth says it is 4 m away
